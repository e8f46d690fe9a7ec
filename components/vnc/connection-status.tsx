"use client";

import type { VncConnectionState } from "@/components/vnc/use-rfb-connection";
import { useNow } from "@/components/vnc/use-now";

const dots: Record<VncConnectionState["phase"], string> = {
  idle: "bg-slate-400",
  connecting: "bg-amber-400 animate-pulse",
  connected: "bg-emerald-500",
  reconnecting: "bg-red-500 animate-pulse",
  disconnected: "bg-red-500",
};

/** Returns the one-line text of a connection state, counting down retries. */
export function connectionText(state: VncConnectionState, now: number): string {
  switch (state.phase) {
    case "idle":
      return "Paused while off screen";
    case "connecting":
      return "Connecting…";
    case "connected":
      return "Connected";
    case "reconnecting": {
      const seconds = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      return `${state.reason}. Reconnecting in ${seconds} s`;
    }
    case "disconnected":
      return `Disconnected: ${state.reason}`;
  }
}

/**
 * Shows a viewer's connection state. `onReconnect` adds a button that skips
 * the wait or retries after a final drop.
 */
export function ConnectionStatus({
  state,
  onReconnect,
  compact = false,
}: {
  state: VncConnectionState;
  onReconnect?: () => void;
  compact?: boolean;
}) {
  const now = useNow(1_000, state.phase === "reconnecting");
  const text = connectionText(state, now);
  const canRetry = state.phase === "reconnecting" || state.phase === "disconnected";

  return (
    <span
      role="status"
      data-testid="vnc-connection"
      data-phase={state.phase}
      className={`flex min-w-0 items-center gap-2 ${compact ? "text-[11px]" : "text-xs"}`}
    >
      <span className={`size-2 shrink-0 rounded-full ${dots[state.phase]}`} aria-hidden />
      <span className="truncate" title={text}>
        {text}
      </span>
      {onReconnect && canRetry && (
        <button
          type="button"
          onClick={onReconnect}
          className="shrink-0 rounded border border-slate-600 px-1.5 py-0.5 text-slate-200 hover:bg-slate-700"
        >
          {state.phase === "disconnected" ? "Reconnect" : "Retry now"}
        </button>
      )}
    </span>
  );
}
