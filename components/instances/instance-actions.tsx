"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useState, useTransition } from "react";
import { changeInstanceStateAction } from "@/app/(console)/instances/actions";
import type { InstanceAction, InstanceKey, InstanceStatus } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";

const labels: Record<InstanceAction, { idle: string; busy: string; done: string }> = {
  start: { idle: "Start", busy: "Starting…", done: "started" },
  stop: { idle: "Stop", busy: "Stopping…", done: "stopped" },
  restart: { idle: "Restart", busy: "Restarting…", done: "restarted" },
  freeze: { idle: "Freeze", busy: "Freezing…", done: "frozen" },
  unfreeze: { idle: "Unfreeze", busy: "Unfreezing…", done: "unfrozen" },
};

/** Why an action is unavailable in a status, or null when it is available. */
function unavailableReason(action: InstanceAction, status: InstanceStatus): string | null {
  switch (action) {
    case "start":
      return status === "Stopped" || status === "Error" ? null : `The instance is ${status.toLowerCase()}.`;
    case "stop":
    case "restart":
      return status === "Running" || status === "Frozen" ? null : `The instance is ${status.toLowerCase()}.`;
    case "freeze":
      return status === "Running" ? null : "Only a running instance can be frozen.";
    case "unfreeze":
      return status === "Frozen" ? null : "Only a frozen instance can be unfrozen.";
  }
}

export function InstanceActions({
  instanceKey,
  status,
  canOperate,
}: {
  instanceKey: InstanceKey;
  status: InstanceStatus;
  canOperate: boolean;
}) {
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [running, setRunning] = useState<InstanceAction | null>(null);
  const [force, setForce] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  const actions: InstanceAction[] = status === "Frozen" ? ["unfreeze", "stop", "restart"] : ["start", "stop", "restart", "freeze"];

  const run = (action: InstanceAction) => {
    setRunning(action);
    setMessage(null);
    startTransition(async () => {
      const result = await changeInstanceStateAction({ ...instanceKey, action, force });
      setRunning(null);
      if (result.ok) {
        setMessage({ kind: "ok", text: `Instance ${labels[action].done}.` });
      } else {
        setMessage({ kind: "error", text: result.error });
      }
      await queryClient.invalidateQueries({ queryKey: queryKeys.instance(instanceKey) });
    });
  };

  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex items-center gap-2">
        <label className="mr-2 flex items-center gap-1.5 text-slate-600" title="Kill the instance instead of asking it to shut down">
          <input
            type="checkbox"
            checked={force}
            onChange={(event) => setForce(event.target.checked)}
            disabled={!canOperate || pending}
          />
          Force
        </label>
        {actions.map((action) => {
          const reason = canOperate
            ? unavailableReason(action, status)
            : "Your role cannot change instance state.";
          return (
            <button
              key={action}
              type="button"
              onClick={() => run(action)}
              disabled={pending || reason !== null}
              title={reason ?? undefined}
              className="rounded border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-800 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50"
            >
              {running === action ? labels[action].busy : labels[action].idle}
            </button>
          );
        })}
      </div>
      <p
        aria-live="polite"
        data-testid="action-message"
        className={`min-h-5 text-sm ${message?.kind === "error" ? "text-red-700" : "text-emerald-700"}`}
      >
        {running ? `${labels[running].busy} waiting for LXD` : message?.text}
      </p>
    </div>
  );
}
