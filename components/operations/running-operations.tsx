"use client";

import { OperationProgressBar } from "@/components/operations/operation-progress";
import type { OperationProgress } from "@/lib/hosts/watcher";

/** Shows a busy label with a progress bar for each LXD operation of a running action. */
export function RunningOperations({
  label,
  operations,
  canCancel = true,
}: {
  label: string;
  operations: OperationProgress[];
  /** Whether the user may cancel operations (instance:operate). */
  canCancel?: boolean;
}) {
  return (
    <div className="min-w-0 space-y-2 wrap-anywhere" aria-live="polite" data-testid="running-operations">
      <p className="text-sm text-slate-600">{label}</p>
      {operations.map((operation) => (
        <OperationProgressBar
          key={`${operation.host}/${operation.id}`}
          operation={operation}
          canCancel={canCancel}
        />
      ))}
    </div>
  );
}

/** Shows an action's error as an alert. */
export function ErrorAlert({ text }: { text: string }) {
  return (
    <p role="alert" className="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 wrap-anywhere">
      {text}
    </p>
  );
}
