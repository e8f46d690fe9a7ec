"use client";

import { useEffect, useState } from "react";

import { planMigrationAction } from "@/app/(console)/instances/move-actions";
import { ErrorAlert, RunningOperations } from "@/components/operations/running-operations";
import type { MigrationPlan } from "@/lib/hosts/migrate";
import type { InstanceKey } from "@/lib/instances/types";
import type { OperationProgress } from "@/lib/hosts/watcher";

// Parts shared by the clone and migrate dialogs.

/**
 * Loads where the instance can go (other hosts, cluster members) each time
 * the dialog opens. Returns the plan, or the error that loading it gave.
 */
export function useMigrationPlan(instanceKey: InstanceKey, open: boolean) {
  const [plan, setPlan] = useState<MigrationPlan | null>(null);
  const [planError, setPlanError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    void planMigrationAction(instanceKey).then((result) => {
      if (result.ok) setPlan(result.value);
      else setPlanError(result.error);
    });
  }, [open, instanceKey]);

  return { plan, planError };
}

/**
 * Shows the running move's LXD operations while `pending`, then its error
 * or the `done` note, announced to screen readers.
 */
export function MoveStatus({
  pending,
  label,
  operations,
  error,
  done,
}: {
  pending: boolean;
  label: string;
  operations: OperationProgress[];
  error: string | null;
  done: React.ReactNode;
}) {
  return (
    <>
      {pending && <RunningOperations label={label} operations={operations} />}
      <div aria-live="polite">
        {error && <ErrorAlert text={error} />}
        {done}
      </div>
    </>
  );
}

/** Shows a finished move with a button that opens the instance where it landed. */
export function DoneNote({
  children,
  openLabel,
  onOpen,
}: {
  children: React.ReactNode;
  openLabel: string;
  onOpen: () => void;
}) {
  return (
    <p className="rounded border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
      {children}{" "}
      <button type="button" className="underline" onClick={onOpen}>
        {openLabel}
      </button>
    </p>
  );
}

/** Renders a move dialog's Close button and its submit button. */
export function MoveDialogButtons({
  label,
  pendingLabel,
  pending,
  disabled,
  onClose,
}: {
  label: string;
  pendingLabel: string;
  pending: boolean;
  disabled: boolean;
  onClose: () => void;
}) {
  return (
    <div className="flex justify-end gap-2">
      <button type="button" onClick={onClose} className="rounded border border-slate-300 px-3 py-1.5">
        Close
      </button>
      <button
        type="submit"
        disabled={disabled}
        className="rounded bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-700 disabled:opacity-50"
      >
        {pending ? pendingLabel : label}
      </button>
    </div>
  );
}
