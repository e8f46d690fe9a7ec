"use client";

import { useState } from "react";

import {
  applyPresetAction,
  updateLimitsAction,
} from "@/app/(console)/instances/toolbox-actions";
import { formatBytes, formatCpuTime } from "@/lib/format";
import type { ConfigDiff } from "@/lib/instances/config-change";
import { LIMIT_FORMATS, LIMIT_KEYS, type LimitKey } from "@/lib/instances/limit-keys";
import type { LimitsView } from "@/lib/instances/limits";
import type { LimitPreset } from "@/lib/instances/presets";
import type { InstanceKey } from "@/lib/instances/types";

import {
  FeedbackLine,
  Panel,
  buttonClass,
  inputClass,
  useToolboxAction,
} from "./toolbox-ui";

/** Current usage shown beside each limit, or null where none applies. */
function usageText(key: LimitKey, view: LimitsView): string | null {
  const { usage } = view;
  switch (key) {
    case "limits.cpu":
      return usage.cpuNs === null ? null : `${formatCpuTime(usage.cpuNs)} CPU time used`;
    case "limits.memory":
      return usage.memoryBytes === null ? null : `${formatBytes(usage.memoryBytes)} in use`;
    case "limits.memory.swap":
      return usage.swapBytes === null ? null : `${formatBytes(usage.swapBytes)} swapped`;
    case "limits.processes":
      return usage.processes === null ? null : `${usage.processes} running`;
    case "root.size":
      return usage.rootDiskBytes === null ? null : `${formatBytes(usage.rootDiskBytes)} used`;
    default:
      return null;
  }
}

function ownValues(view: LimitsView): Record<string, string> {
  return Object.fromEntries(LIMIT_KEYS.map((key) => [key, view.limits[key].own ?? ""]));
}

function describeDiff(diff: ConfigDiff): string {
  const changed = Object.keys(diff.after);
  if (changed.length === 0) return "Nothing changed.";
  return `Applied ${changed.map((key) => `${key}=${diff.after[key] ?? "(unset)"}`).join(", ")}.`;
}

export function LimitsPanel({
  instanceKey,
  view,
  presets,
  canOperate,
}: {
  instanceKey: InstanceKey;
  view: LimitsView;
  presets: LimitPreset[];
  canOperate: boolean;
}) {
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [values, setValues] = useState(() => ownValues(view));
  const [loadedEtag, setLoadedEtag] = useState(view.etag);
  const [preset, setPreset] = useState(presets[0]?.name ?? "");

  // A new ETag means the instance changed (this form's apply, or someone
  // else's), so the form shows the values now in place.
  if (loadedEtag !== view.etag) {
    setLoadedEtag(view.etag);
    setValues(ownValues(view));
  }
  const disabled = !canOperate || pending;

  return (
    <Panel title="Resource limits" wide>
      <form
        aria-label="Resource limits"
        onSubmit={(event) => {
          event.preventDefault();
          run(
            () => updateLimitsAction({ ...instanceKey, etag: view.etag, values }),
            (result) => describeDiff(result.diff),
          );
        }}
        className="space-y-3"
      >
        <table className="w-full text-left">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="w-48 py-1 font-medium">Limit</th>
              <th className="w-64 py-1 font-medium">Set on instance</th>
              <th className="py-1 font-medium">In effect</th>
              <th className="py-1 font-medium">Current usage</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {LIMIT_KEYS.map((key) => {
              const format = LIMIT_FORMATS[key];
              const setting = view.limits[key];
              return (
                <tr key={key}>
                  <td className="py-1.5">
                    <label htmlFor={`limit-${key}`}>{format.label}</label>
                    <div className="font-mono text-xs text-slate-400">{key}</div>
                  </td>
                  <td className="py-1.5 pr-4">
                    <input
                      id={`limit-${key}`}
                      value={values[key] ?? ""}
                      onChange={(event) => setValues({ ...values, [key]: event.target.value })}
                      placeholder="unset"
                      title={`Accepted forms: ${format.acceptedForms}. Empty unsets the key.`}
                      className={inputClass}
                      disabled={!canOperate}
                    />
                  </td>
                  <td className="py-1.5 font-mono text-xs text-slate-700" data-testid={`limit-effective-${key}`}>
                    {setting.effective ?? "unlimited"}
                    {setting.own === null && setting.effective !== null ? " (profile)" : ""}
                  </td>
                  <td className="py-1.5 text-slate-600">{usageText(key, view) ?? "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="flex flex-wrap items-center gap-3">
          <button type="submit" className={buttonClass} disabled={disabled}>
            {pending ? "Applying…" : "Apply limits"}
          </button>
          <span className="text-xs text-slate-500">
            Applied live. Empty fields unset the key, so the profile value or no limit applies.
          </span>
        </div>
      </form>

      {presets.length > 0 && (
        <form
          aria-label="Apply preset"
          className="flex flex-wrap items-end gap-3 border-t border-slate-100 pt-4"
          onSubmit={(event) => {
            event.preventDefault();
            run(
              () => applyPresetAction({ ...instanceKey, etag: view.etag, preset }),
              (result) => `Preset "${preset}": ${describeDiff(result.diff)}`,
            );
          }}
        >
          <label className="flex flex-col gap-1 text-slate-600">
            Preset
            <select
              value={preset}
              onChange={(event) => setPreset(event.target.value)}
              className="rounded border border-slate-300 bg-white px-2 py-1.5"
            >
              {presets.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name}
                  {entry.description ? ` — ${entry.description}` : ""}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className={buttonClass} disabled={disabled}>
            Apply preset
          </button>
        </form>
      )}

      <FeedbackLine feedback={feedback} busy={pending ? "Applying… waiting for LXD" : null} testId="limits-message" />
    </Panel>
  );
}
