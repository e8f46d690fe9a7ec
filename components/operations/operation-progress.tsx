"use client";

import { useState, useTransition } from "react";

import { cancelOperationAction } from "@/app/(console)/operations/actions";
import { useNow } from "@/components/vnc/use-now";
import { formatElapsed, progressPercent } from "@/lib/hosts/operation-text";
import type { OperationProgress } from "@/lib/hosts/watcher";

/**
 * Shows one running LXD operation with a progress bar, and a cancel button
 * where LXD allows it. Without a percentage from LXD the bar pulses and the
 * time since LXD created the operation is shown.
 */
export function OperationProgressBar({
  operation,
  canCancel = true,
}: {
  operation: OperationProgress;
  /** Whether the user may cancel operations (instance:operate). */
  canCancel?: boolean;
}) {
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const percent = progressPercent(operation.progress);
  const now = useNow(1_000, percent === null);
  const elapsed = percent === null ? formatElapsed(operation.createdAt, now) : null;

  const cancel = () => {
    setError(null);
    startTransition(async () => {
      const result = await cancelOperationAction({ host: operation.host, id: operation.id });
      if (!result.ok) setError(result.error);
    });
  };

  return (
    <div className="space-y-1" data-testid="operation-progress">
      <div className="flex items-center justify-between gap-3 text-xs text-slate-600">
        <span>
          <span className="font-medium text-slate-800">{operation.description}</span> on{" "}
          {operation.host}
          {operation.progress ? ` · ${operation.progress}` : ""}
          {elapsed && <span data-testid="operation-elapsed"> · running for {elapsed}</span>}
        </span>
        {canCancel && operation.mayCancel && (
          <button
            type="button"
            onClick={cancel}
            disabled={pending}
            className="rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100 disabled:opacity-50"
          >
            {pending ? "Cancelling…" : "Cancel"}
          </button>
        )}
      </div>
      <div
        role="progressbar"
        aria-label={operation.description}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={operation.progress ?? operation.status}
        className="h-2 overflow-hidden rounded bg-slate-200"
      >
        <div
          className={`h-full bg-sky-500 ${percent === null ? "w-1/3 animate-pulse" : ""}`}
          style={percent === null ? undefined : { width: `${percent}%` }}
        />
      </div>
      {error && (
        <p role="alert" className="text-xs text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}
