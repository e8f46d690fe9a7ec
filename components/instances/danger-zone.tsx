"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";

import { deleteInstanceAction } from "@/app/(console)/instances/toolbox-actions";
import { useHydrated } from "@/components/use-hydrated";
import type { InstanceKey, InstanceStatus } from "@/lib/instances/types";

import {
  ActionStatus,
  ConfirmButtons,
  Modal,
  Panel,
  dangerButtonClass,
  inputClass,
  useToolboxAction,
} from "./toolbox-ui";

/** Deletes the instance after its name is typed. A running one also needs consent to kill it. */
export function DangerZone({
  instanceKey,
  status,
  canOperate,
}: {
  instanceKey: InstanceKey;
  status: InstanceStatus;
  canOperate: boolean;
}) {
  const router = useRouter();
  const { pending, feedback, run } = useToolboxAction(instanceKey);
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const hydrated = useHydrated();
  const [force, setForce] = useState(false);
  const active = status !== "Stopped" && status !== "Error";
  const ready = typed === instanceKey.name && (!active || force);

  return (
    <Panel title="Danger zone" wide>
      <div className="flex flex-wrap items-center gap-3">
        <button type="button" className={dangerButtonClass} disabled={!canOperate || pending || !hydrated} onClick={() => setOpen(true)}>
          Delete instance…
        </button>
        <span className="text-slate-600">Deletes {instanceKey.name} with all its snapshots.</span>
      </div>
      <ActionStatus
        instances={[instanceKey]}
        busy={pending ? `Deleting ${instanceKey.name}…` : null}
        feedback={feedback}
        testId="delete-message"
        canCancel={canOperate}
      />

      {open && (
        <Modal title={`Delete ${instanceKey.name}?`} onClose={() => setOpen(false)}>
          <p>
            The instance, its root disk and all its snapshots are removed. This cannot be undone.
          </p>
          {active && (
            <label className="flex items-start gap-2 rounded border border-amber-300 bg-amber-50 p-2 text-amber-900">
              <input type="checkbox" checked={force} onChange={(event) => setForce(event.target.checked)} />
              <span>
                The instance is {status.toLowerCase()}. Kill its processes and delete it anyway. Stop it
                first instead for a clean shutdown.
              </span>
            </label>
          )}
          <label className="flex flex-col gap-1 text-slate-600">
            <span>
              Type <strong className="font-mono">{instanceKey.name}</strong> to confirm
            </span>
            <input value={typed} onChange={(event) => setTyped(event.target.value)} className={inputClass} />
          </label>
          <ConfirmButtons
            label={active ? "Kill and delete" : "Delete"}
            disabled={!ready}
            onCancel={() => setOpen(false)}
            onConfirm={() => {
              setOpen(false);
              run(
                () => deleteInstanceAction({ ...instanceKey, confirmName: typed, force }),
                () => "Instance deleted.",
                (result) => {
                  if (result.ok) router.push("/instances");
                },
              );
            }}
          />
        </Modal>
      )}
    </Panel>
  );
}
