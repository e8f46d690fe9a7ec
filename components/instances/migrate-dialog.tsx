"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";

import { migrateInstanceAction } from "@/app/(console)/instances/move-actions";
import { ErrorAlert } from "@/components/operations/running-operations";
import { Modal } from "@/components/operations/modal";
import { touchesInstance, useLiveOperations } from "@/components/operations/use-live-operations";
import { instancePath } from "@/components/instances/paths";
import type { MigrateResult, MigrationPlan } from "@/lib/hosts/migrate";
import type { InstanceKey } from "@/lib/instances/types";

import { DoneNote, MoveDialogButtons, MoveStatus, useMigrationPlan } from "./move-dialog-parts";

/** Returns the first target the plan offers: a host, else a cluster member. */
function firstTarget(plan: MigrationPlan): string {
  const firstHost = plan.hosts[0];
  const firstMember = plan.members[0];
  if (firstHost) return `host:${firstHost.id}`;
  if (firstMember) return `member:${firstMember}`;
  return "";
}

/**
 * Moves the instance to another host or cluster member. Before anything
 * is sent it shows whether a live move can work and why, and for a running
 * instance it offers stop, move and start instead. Mount it only while
 * open, so each opening starts from a fresh plan.
 */
export function MigrateDialog({
  instanceKey,
  open,
  onClose,
}: {
  instanceKey: InstanceKey;
  open: boolean;
  onClose: () => void;
}) {
  const router = useRouter();
  const { plan, planError } = useMigrationPlan(instanceKey, open);
  const [chosenTarget, setChosenTarget] = useState<string | null>(null);
  const target = chosenTarget ?? (plan ? firstTarget(plan) : "");
  const [live, setLive] = useState(false);
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<MigrateResult | null>(null);

  const targetHost = target.startsWith("host:") ? target.slice(5) : instanceKey.host;
  const operations = useLiveOperations(
    (operation) =>
      (operation.host === instanceKey.host || operation.host === targetHost) &&
      touchesInstance(operation, instanceKey.name),
    pending,
  );
  const running = plan?.status === "Running";

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setError(null);
    setResult(null);
    startTransition(async () => {
      const answer = await migrateInstanceAction({
        ...instanceKey,
        targetHost,
        targetMember: target.startsWith("member:") ? target.slice(7) : undefined,
        live: running && live,
      });
      if (answer.ok) setResult(answer.value);
      else setError(answer.error);
    });
  };

  return (
    <Modal title={`Migrate ${instanceKey.name}`} open={open} onClose={onClose}>
      {!plan && !planError && <p className="text-sm text-slate-500">Checking where the instance can go…</p>}
      {plan && (
        <form onSubmit={submit} className="space-y-3">
          <label className="block">
            <span className="text-sm font-medium">Move to</span>
            <select
              value={target}
              onChange={(event) => setChosenTarget(event.target.value)}
              className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
            >
              {plan.hosts.map((host) => (
                <option key={host.id} value={`host:${host.id}`}>
                  Host {host.name} ({host.id})
                </option>
              ))}
              {plan.members.map((member) => (
                <option key={member} value={`member:${member}`}>
                  Cluster member {member}
                </option>
              ))}
            </select>
          </label>
          {plan.hosts.length === 0 && plan.members.length === 0 && (
            <p className="text-sm text-slate-600">There is no other host or cluster member. An admin can add a host on the Hosts page.</p>
          )}

          {running ? (
            <fieldset className="space-y-2 rounded border border-slate-200 p-3 text-sm">
              <legend className="px-1 font-medium">The instance is running</legend>
              <label className="flex items-start gap-2">
                <input type="radio" name="mode" checked={!live} onChange={() => setLive(false)} className="mt-1" />
                <span>Stop it, move it and start it again. The downtime is reported when it is done.</span>
              </label>
              <label className="flex items-start gap-2">
                <input
                  type="radio"
                  name="mode"
                  checked={live}
                  onChange={() => setLive(true)}
                  disabled={!plan.live.allowed}
                  className="mt-1"
                />
                <span>Move it live, with its memory state.</span>
              </label>
              <p data-testid="live-reason" className="rounded bg-amber-50 px-2 py-1.5 text-amber-900">
                {plan.live.reason}
              </p>
            </fieldset>
          ) : (
            <p className="text-sm text-slate-600">The instance is {plan.status.toLowerCase()}, so it moves as it is.</p>
          )}

          <MoveStatus
            pending={pending}
            label="Migrating…"
            operations={operations}
            error={error}
            done={
              result && (
                <DoneNote
                  openLabel="Open it there"
                  onOpen={() => router.push(instancePath({ ...instanceKey, host: result.host }))}
                >
                  Moved to {result.member ? `member ${result.member}` : `host ${result.host}`}
                  {result.downtimeMs !== null
                    ? `, stopped for ${(result.downtimeMs / 1000).toFixed(1)} s`
                    : ""}
                  .
                </DoneNote>
              )
            }
          />
          <MoveDialogButtons
            label="Migrate"
            pendingLabel="Migrating…"
            pending={pending}
            disabled={pending || target === "" || result !== null}
            onClose={onClose}
          />
        </form>
      )}
      {!plan && planError && <ErrorAlert text={planError} />}
    </Modal>
  );
}
