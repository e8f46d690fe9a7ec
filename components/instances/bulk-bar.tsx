"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useState, useTransition } from "react";

import { bulkAction } from "@/app/(console)/instances/toolbox-actions";
import { useCurrentUser } from "@/components/current-user";
import { RunningOperations } from "@/components/operations/running-operations";
import { useInstanceOperations } from "@/components/operations/use-live-operations";
import { userCan } from "@/lib/auth/permissions";
import type { BulkAction, BulkResult } from "@/lib/instances/bulk";
import type { InstanceKey } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";

import { buttonClass } from "./toolbox-ui";

const actionLabels: Record<BulkAction, string> = {
  start: "Start",
  stop: "Stop",
  freeze: "Freeze",
  unfreeze: "Unfreeze",
  snapshot: "Snapshot",
};

/** Runs one action over the selected instances and lists the result per instance. */
export function BulkBar({ selected, onClear }: { selected: InstanceKey[]; onClear: () => void }) {
  const canOperate = userCan(useCurrentUser(), "instance:operate");
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [running, setRunning] = useState<BulkAction | null>(null);
  const [force, setForce] = useState(false);
  const [result, setResult] = useState<{ action: BulkAction; result: BulkResult } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const operations = useInstanceOperations(selected, running !== null);

  if (selected.length === 0 && result === null && error === null) return null;

  const run = (action: BulkAction) => {
    setRunning(action);
    setResult(null);
    setError(null);
    startTransition(async () => {
      const outcome = await bulkAction({ action, force, instances: selected });
      setRunning(null);
      if (outcome.ok) setResult({ action, result: outcome });
      else setError(outcome.error);
      await queryClient.invalidateQueries({ queryKey: queryKeys.fleet() });
    });
  };

  const disabledReason = canOperate ? null : "Your role cannot change instances.";

  return (
    <section aria-label="Bulk actions" className="space-y-2 rounded-md border border-sky-200 bg-sky-50 p-3">
      <div className="flex flex-wrap items-center gap-2">
        <span className="mr-2 font-medium text-slate-700">{selected.length} selected</span>
        {(Object.keys(actionLabels) as BulkAction[]).map((action) => (
          <button
            key={action}
            type="button"
            className={buttonClass}
            disabled={pending || selected.length === 0 || disabledReason !== null}
            title={disabledReason ?? undefined}
            onClick={() => run(action)}
          >
            {running === action ? `${actionLabels[action]}…` : actionLabels[action]}
          </button>
        ))}
        <label className="ml-2 flex items-center gap-1.5 text-slate-600" title="Stop kills the instances instead of asking them to shut down">
          <input type="checkbox" checked={force} onChange={(event) => setForce(event.target.checked)} />
          Force stop
        </label>
        <button
          type="button"
          className="ml-auto text-sky-700 hover:underline"
          onClick={() => {
            setResult(null);
            setError(null);
            onClear();
          }}
        >
          Clear selection
        </button>
      </div>

      <div aria-live="polite" data-testid="bulk-results">
        {running && (
          <RunningOperations
            label={`${actionLabels[running]} on ${selected.length} instances…`}
            operations={operations}
            canCancel={canOperate}
          />
        )}
        {error && <p className="text-red-700">{error}</p>}
        {result && (
          <ul className="space-y-0.5">
            {result.result.items.map((item) => (
              <li
                key={`${item.key.host}/${item.key.project}/${item.key.name}`}
                className={item.ok ? "text-emerald-700" : "text-red-700"}
              >
                {item.key.name} ({item.key.host}/{item.key.project}):{" "}
                {item.ok ? `${actionLabels[result.action].toLowerCase()} done` : item.error}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
