"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";

import { cloneInstanceAction } from "@/app/(console)/instances/move-actions";
import { Modal } from "@/components/operations/modal";
import { touchesInstance, useLiveOperations } from "@/components/operations/use-live-operations";
import { instancePath } from "@/components/instances/paths";
import type { InstanceKey, SnapshotSummary } from "@/lib/instances/types";

import { DoneNote, MoveDialogButtons, MoveStatus, useMigrationPlan } from "./move-dialog-parts";

/**
 * Copies the instance, or one of its snapshots, to a new name on its own
 * host or another one, showing LXD's progress while the copy runs.
 */
export function CloneDialog({
  instanceKey,
  snapshots,
  open,
  onClose,
}: {
  instanceKey: InstanceKey;
  snapshots: SnapshotSummary[];
  open: boolean;
  onClose: () => void;
}) {
  const router = useRouter();
  const { plan, planError } = useMigrationPlan(instanceKey, open);
  const hosts = plan
    ? [{ id: instanceKey.host, name: `${instanceKey.host} (this host)` }, ...plan.hosts]
    : [{ id: instanceKey.host, name: instanceKey.host }];
  const [targetHost, setTargetHost] = useState(instanceKey.host);
  const [targetName, setTargetName] = useState(`${instanceKey.name}-copy`);
  const [snapshot, setSnapshot] = useState("");
  const [instanceOnly, setInstanceOnly] = useState(false);
  const [start, setStart] = useState(true);
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<InstanceKey | null>(null);

  const operations = useLiveOperations(
    (operation) =>
      (operation.host === instanceKey.host || operation.host === targetHost) &&
      (touchesInstance(operation, instanceKey.name) || touchesInstance(operation, targetName)),
    pending,
  );

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setError(null);
    setDone(null);
    startTransition(async () => {
      const result = await cloneInstanceAction({
        ...instanceKey,
        snapshot: snapshot === "" ? undefined : snapshot,
        targetHost,
        targetName,
        instanceOnly,
        start,
      });
      if (result.ok) setDone(result.value.key);
      else setError(result.error);
    });
  };

  return (
    <Modal title={`Clone ${instanceKey.name}`} open={open} onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <label className="block">
          <span className="text-sm font-medium">New name</span>
          <input
            value={targetName}
            onChange={(event) => setTargetName(event.target.value)}
            required
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5 font-mono text-sm"
          />
        </label>
        <label className="block">
          <span className="text-sm font-medium">Host</span>
          <select
            value={targetHost}
            onChange={(event) => setTargetHost(event.target.value)}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
          >
            {hosts.map((host) => (
              <option key={host.id} value={host.id}>
                {host.name}
              </option>
            ))}
          </select>
        </label>
        <label className="block">
          <span className="text-sm font-medium">Copy from</span>
          <select
            value={snapshot}
            onChange={(event) => setSnapshot(event.target.value)}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
          >
            <option value="">Current state of the instance</option>
            {snapshots.map((item) => (
              <option key={item.name} value={item.name}>
                Snapshot {item.name}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            checked={instanceOnly}
            onChange={(event) => setInstanceOnly(event.target.checked)}
            disabled={snapshot !== ""}
          />
          Copy without snapshots
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={start} onChange={(event) => setStart(event.target.checked)} />
          Start the copy
        </label>

        <MoveStatus
          pending={pending}
          label="Copying…"
          operations={operations}
          error={error ?? planError}
          done={
            done && (
              <DoneNote openLabel="Open it" onOpen={() => router.push(instancePath(done))}>
                Copied to {done.name} on {done.host}.
              </DoneNote>
            )
          }
        />
        <MoveDialogButtons
          label="Clone"
          pendingLabel="Cloning…"
          pending={pending}
          disabled={pending}
          onClose={onClose}
        />
      </form>
    </Modal>
  );
}
