"use client";

import { useState } from "react";

import {
  deletePresetAction,
  savePresetAction,
} from "@/app/(console)/instances/toolbox-actions";
import { LIMIT_FORMATS, LIMIT_KEYS } from "@/lib/instances/limit-keys";
import type { LimitPreset } from "@/lib/instances/presets";
import type { InstanceKey } from "@/lib/instances/types";

import { FeedbackLine, Panel, buttonClass, inputClass, useToolboxAction } from "./toolbox-ui";

type Draft = { name: string; description: string; limits: Record<string, string> };

const emptyDraft: Draft = { name: "", description: "", limits: {} };

/** Lists the limit presets and lets an admin add, edit and remove them. */
export function PresetsPanel({
  instanceKey,
  presets,
  canOperate,
}: {
  instanceKey: InstanceKey;
  presets: LimitPreset[];
  canOperate: boolean;
}) {
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const disabled = !canOperate || pending;

  const save = () => {
    const limits = Object.fromEntries(
      Object.entries(draft.limits).filter(([, value]) => value.trim() !== ""),
    );
    run(
      () => savePresetAction({ ...draft, limits }),
      () => `Preset "${draft.name}" saved.`,
      (result) => {
        if (result.ok) setDraft(emptyDraft);
      },
    );
  };

  return (
    <Panel title="Limit presets" wide>
      <table className="w-full text-left">
        <thead className="text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-1 font-medium">Name</th>
            <th className="py-1 font-medium">Description</th>
            <th className="py-1 font-medium">Limits</th>
            <th className="py-1 font-medium">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {presets.map((preset) => (
            <tr key={preset.name} data-testid={`preset-row-${preset.name}`}>
              <td className="py-1.5 font-medium">{preset.name}</td>
              <td className="py-1.5 text-slate-600">{preset.description || "—"}</td>
              <td className="py-1.5 font-mono text-xs text-slate-700">
                {Object.entries(preset.limits)
                  .map(([key, value]) => `${key}=${value}`)
                  .join("  ")}
              </td>
              <td className="space-x-2 py-1.5 text-right">
                <button
                  type="button"
                  className={buttonClass}
                  disabled={disabled}
                  aria-label={`Edit preset ${preset.name}`}
                  onClick={() =>
                    setDraft({ name: preset.name, description: preset.description, limits: { ...preset.limits } })
                  }
                >
                  Edit
                </button>
                <button
                  type="button"
                  className={buttonClass}
                  disabled={disabled}
                  aria-label={`Remove preset ${preset.name}`}
                  onClick={() =>
                    run(
                      () => deletePresetAction({ name: preset.name }),
                      () => `Preset "${preset.name}" removed.`,
                    )
                  }
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <form
        aria-label="Preset editor"
        className="space-y-3 border-t border-slate-100 pt-4"
        onSubmit={(event) => {
          event.preventDefault();
          save();
        }}
      >
        <h3 className="font-medium">Add or edit a preset</h3>
        <div className="grid gap-3 md:grid-cols-4">
          <label className="flex flex-col gap-1 text-slate-600">
            Preset name
            <input
              value={draft.name}
              onChange={(event) => setDraft({ ...draft, name: event.target.value })}
              placeholder="tiny"
              className={inputClass}
              disabled={!canOperate}
            />
          </label>
          <label className="flex flex-col gap-1 text-slate-600 md:col-span-3">
            Description
            <input
              value={draft.description}
              onChange={(event) => setDraft({ ...draft, description: event.target.value })}
              className={inputClass}
              disabled={!canOperate}
            />
          </label>
          {LIMIT_KEYS.map((key) => (
            <label key={key} className="flex flex-col gap-1 text-slate-600">
              <span>
                {LIMIT_FORMATS[key].label} <span className="font-mono text-xs text-slate-400">{key}</span>
              </span>
              <input
                aria-label={`Preset ${key}`}
                value={draft.limits[key] ?? ""}
                onChange={(event) =>
                  setDraft({ ...draft, limits: { ...draft.limits, [key]: event.target.value } })
                }
                title={`Accepted forms: ${LIMIT_FORMATS[key].acceptedForms}`}
                className={inputClass}
                disabled={!canOperate}
              />
            </label>
          ))}
        </div>
        <div className="flex items-center gap-3">
          <button type="submit" className={buttonClass} disabled={disabled}>
            Save preset
          </button>
          <FeedbackLine feedback={feedback} busy={null} testId="preset-message" />
        </div>
      </form>
    </Panel>
  );
}
