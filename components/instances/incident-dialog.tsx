"use client";

import { useState } from "react";

import { incidentAction } from "@/app/(console)/instances/toolbox-actions";
import { useHydrated } from "@/components/use-hydrated";
import type { InstanceKey } from "@/lib/instances/types";

import { ActionStatus, ConfirmButtons, Modal, dangerButtonClass, useToolboxAction } from "./toolbox-ui";

const freezeText = {
  frozen: "froze the instance",
  "already frozen": "found it already frozen",
  "not running": "did not freeze it (not running)",
} as const;

/** Freezes a sandbox and keeps a snapshot of it in one step, with a reason for the audit log. */
export function IncidentDialog({ instanceKey, canOperate }: { instanceKey: InstanceKey; canOperate: boolean }) {
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const hydrated = useHydrated();

  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        className={dangerButtonClass}
        disabled={!canOperate || pending || !hydrated}
        title={canOperate ? "Freeze the instance and snapshot it for later analysis" : "Your role cannot change instances."}
        onClick={() => setOpen(true)}
      >
        {pending ? "Responding…" : "Incident…"}
      </button>
      <ActionStatus
        instances={[instanceKey]}
        busy={pending ? "Freezing and snapshotting…" : null}
        feedback={feedback}
        testId="incident-message"
        canCancel={canOperate}
      />

      {open && (
        <Modal title={`Incident on ${instanceKey.name}`} onClose={() => setOpen(false)}>
          <p>
            The console freezes every process of the instance and takes a snapshot named
            incident-YYYYMMDD-HHMMSS (UTC), recorded as one incident in the audit log. Unfreeze it
            when the analysis is done.
          </p>
          <label className="flex flex-col gap-1 text-slate-600">
            Reason
            <textarea
              value={reason}
              onChange={(event) => setReason(event.target.value)}
              rows={3}
              placeholder="What did you observe?"
              className="rounded border border-slate-300 px-2 py-1 focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500"
            />
          </label>
          <ConfirmButtons
            label="Freeze and snapshot"
            disabled={reason.trim() === ""}
            onCancel={() => setOpen(false)}
            onConfirm={() => {
              setOpen(false);
              run(
                () => incidentAction({ ...instanceKey, reason }),
                (result) => `Incident recorded: ${freezeText[result.freeze]}, snapshot "${result.snapshot}".`,
                (result) => {
                  if (result.ok) setReason("");
                },
              );
            }}
          />
        </Modal>
      )}
    </div>
  );
}
