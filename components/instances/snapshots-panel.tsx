"use client";

import { useState } from "react";

import {
  createSnapshotAction,
  deleteSnapshotAction,
  restoreSnapshotAction,
  updateScheduleAction,
} from "@/app/(console)/instances/toolbox-actions";
import { formatTime } from "@/lib/format";
import type { SnapshotConfigKey, SnapshotsView } from "@/lib/instances/snapshots";
import type { InstanceKey, SnapshotSummary } from "@/lib/instances/types";

import {
  ActionStatus,
  ConfirmButtons,
  FeedbackLine,
  Modal,
  Panel,
  buttonClass,
  inputClass,
  useToolboxAction,
} from "./toolbox-ui";

const scheduleFields: Array<{ key: SnapshotConfigKey; label: string; help: string }> = [
  {
    key: "snapshots.schedule",
    label: "Schedule",
    help: "Cron expression such as 0 3 * * *, or @hourly, @daily, @weekly, @monthly. Empty for none.",
  },
  {
    key: "snapshots.expiry",
    label: "Expiry",
    help: "How long scheduled snapshots live, such as 1d, 2w or 3M 12H (M minutes, H hours, d, w, m months, y).",
  },
  {
    key: "snapshots.pattern",
    label: "Name pattern",
    help: "Names of scheduled snapshots, such as snap%d.",
  },
];

function ownValues(view: SnapshotsView): Record<string, string> {
  return Object.fromEntries(scheduleFields.map(({ key }) => [key, view.config[key].own ?? ""]));
}

export function SnapshotsPanel({
  instanceKey,
  view,
  canOperate,
}: {
  instanceKey: InstanceKey;
  view: SnapshotsView;
  canOperate: boolean;
}) {
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [busy, setBusy] = useState<string | null>(null);
  const [restoring, setRestoring] = useState<SnapshotSummary | null>(null);

  const act = (label: string, action: Parameters<typeof run>[0], done: string) => {
    setBusy(`${label}…`);
    run(action, () => done, () => setBusy(null));
  };

  return (
    <Panel title={`Snapshots (${view.snapshots.length})`} wide>
      <CreateSnapshotForm
        view={view}
        disabled={!canOperate || pending}
        onCreate={(name, stateful) =>
          act(
            `Taking snapshot "${name}"`,
            () => createSnapshotAction({ ...instanceKey, snapshot: name, stateful }),
            `Snapshot "${name}" taken.`,
          )
        }
      />

      <ActionStatus
        instances={[instanceKey]}
        busy={busy}
        feedback={feedback}
        testId="snapshot-message"
        canCancel={canOperate}
      />

      {view.snapshots.length === 0 ? (
        <p className="text-slate-500">No snapshots.</p>
      ) : (
        <table className="w-full text-left">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-1 font-medium">Name</th>
              <th className="py-1 font-medium">Created (UTC)</th>
              <th className="py-1 font-medium">Expires (UTC)</th>
              <th className="py-1 font-medium">Stateful</th>
              <th className="py-1 font-medium">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {view.snapshots.map((snapshot) => (
              <tr key={snapshot.name} data-testid={`snapshot-row-${snapshot.name}`}>
                <td className="py-1.5 font-mono text-xs">{snapshot.name}</td>
                <td className="py-1.5">{formatTime(snapshot.createdAt)}</td>
                <td className="py-1.5">{snapshot.expiresAt ? formatTime(snapshot.expiresAt) : "never"}</td>
                <td className="py-1.5">{snapshot.stateful ? "yes" : "no"}</td>
                <td className="space-x-2 py-1.5 text-right">
                  <button
                    type="button"
                    className={buttonClass}
                    disabled={!canOperate || pending}
                    onClick={() => setRestoring(snapshot)}
                  >
                    Restore
                  </button>
                  <button
                    type="button"
                    className={buttonClass}
                    disabled={!canOperate || pending}
                    aria-label={`Delete snapshot ${snapshot.name}`}
                    onClick={() =>
                      act(
                        `Deleting snapshot "${snapshot.name}"`,
                        () => deleteSnapshotAction({ ...instanceKey, snapshot: snapshot.name }),
                        `Snapshot "${snapshot.name}" deleted.`,
                      )
                    }
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {restoring && (
        <Modal title={`Restore ${instanceKey.name} to "${restoring.name}"?`} onClose={() => setRestoring(null)}>
          <p>
            Everything that changed in <strong>{instanceKey.name}</strong> after{" "}
            {formatTime(restoring.createdAt)} UTC is lost: files written since, and config changes
            made since. A running instance restarts. This cannot be undone, unless you take a
            snapshot of the current state first.
          </p>
          <ConfirmButtons
            label="Restore and lose later changes"
            onCancel={() => setRestoring(null)}
            onConfirm={() => {
              const name = restoring.name;
              setRestoring(null);
              act(
                `Restoring "${name}"`,
                () => restoreSnapshotAction({ ...instanceKey, snapshot: name }),
                `Restored to snapshot "${name}".`,
              );
            }}
          />
        </Modal>
      )}

      <ScheduleEditor
        instanceKey={instanceKey}
        view={view}
        disabled={!canOperate}
      />
    </Panel>
  );
}

function CreateSnapshotForm({
  view,
  disabled,
  onCreate,
}: {
  view: SnapshotsView;
  disabled: boolean;
  onCreate: (name: string, stateful: boolean) => void;
}) {
  const [name, setName] = useState("");
  const [stateful, setStateful] = useState(false);
  const statefulReason = view.stateful.available ? null : view.stateful.reason;

  return (
    <form
      className="flex flex-wrap items-end gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        onCreate(name.trim(), stateful && statefulReason === null);
        setName("");
      }}
    >
      <label className="flex flex-col gap-1 text-slate-600">
        Snapshot name
        <input
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="before-upgrade"
          className={`${inputClass} w-64`}
          required
        />
      </label>
      <label className="flex items-center gap-1.5 text-slate-600" title={statefulReason ?? "Also save the memory of the running instance"}>
        <input
          type="checkbox"
          checked={stateful && statefulReason === null}
          disabled={disabled || statefulReason !== null}
          onChange={(event) => setStateful(event.target.checked)}
        />
        Stateful (save memory)
      </label>
      <button type="submit" className={buttonClass} disabled={disabled}>
        Take snapshot
      </button>
      {statefulReason && (
        <p data-testid="stateful-reason" className="basis-full text-xs text-slate-500">
          Stateful snapshots are unavailable: {statefulReason}
        </p>
      )}
    </form>
  );
}

function ScheduleEditor({
  instanceKey,
  view,
  disabled,
}: {
  instanceKey: InstanceKey;
  view: SnapshotsView;
  disabled: boolean;
}) {
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [values, setValues] = useState(() => ownValues(view));
  const [loadedEtag, setLoadedEtag] = useState(view.etag);

  // A new ETag means the instance changed, so the form shows the values now in place.
  if (loadedEtag !== view.etag) {
    setLoadedEtag(view.etag);
    setValues(ownValues(view));
  }

  return (
    <form
      aria-label="Snapshot schedule"
      className="space-y-3 border-t border-slate-100 pt-4"
      onSubmit={(event) => {
        event.preventDefault();
        run(
          () => updateScheduleAction({ ...instanceKey, etag: view.etag, values }),
          (result) =>
            Object.keys(result.diff.after).length === 0
              ? "Nothing changed."
              : `Saved ${Object.keys(result.diff.after).join(", ")}.`,
        );
      }}
    >
      <h3 className="font-medium">Scheduled snapshots</h3>
      <div className="grid gap-3 md:grid-cols-3">
        {scheduleFields.map(({ key, label, help }) => {
          const inherited = view.config[key].own === null ? view.config[key].effective : null;
          return (
            <label key={key} className="flex flex-col gap-1 text-slate-600">
              {label} <span className="font-mono text-xs text-slate-400">{key}</span>
              <input
                value={values[key] ?? ""}
                onChange={(event) => setValues({ ...values, [key]: event.target.value })}
                placeholder={inherited ? `${inherited} (from profile)` : ""}
                className={inputClass}
                disabled={disabled}
              />
              <span className="text-xs text-slate-500">{help}</span>
            </label>
          );
        })}
      </div>
      <div className="flex items-center gap-3">
        <button type="submit" className={buttonClass} disabled={disabled || pending}>
          {pending ? "Saving…" : "Save schedule"}
        </button>
        <FeedbackLine feedback={feedback} busy={null} testId="schedule-message" />
      </div>
    </form>
  );
}
