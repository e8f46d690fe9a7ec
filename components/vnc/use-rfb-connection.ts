"use client";

import type RFB from "@novnc/novnc";
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { InstanceKey } from "@/lib/instances/types";
import {
  explainClose,
  explainRejection,
  type DropExplanation,
  type SocketClose,
} from "@/lib/vnc/close-reason";
import { ReconnectBackoff } from "@/lib/vnc/reconnect";
import { vncSocketPath, type VncViewMode } from "@/lib/vnc/types";

/** Connection state of one viewer, as its status line shows it. */
export type VncConnectionState =
  /** Not wanted right now, such as a tile scrolled off screen. */
  | { phase: "idle" }
  | { phase: "connecting" }
  | { phase: "connected" }
  /** Dropped; the next attempt starts at `retryAt` (ms since the epoch). */
  | { phase: "reconnecting"; retryAt: number; reason: string }
  /** Dropped for a cause that retrying cannot fix. */
  | { phase: "disconnected"; reason: string };

export interface RfbConnectionOptions {
  instanceKey: InstanceKey;
  mode: VncViewMode;
  viewId: string;
  /** Whether the viewer should be connected at all. */
  enabled: boolean;
  /** Whether keys and pointer stay in the browser. The server filters input too. */
  viewOnly: boolean;
  /** Called on every message from the server, such as a framebuffer update. */
  onServerMessage?: () => void;
}

export interface RfbConnection {
  state: VncConnectionState;
  /** The connected client, or null while there is none. Read it in handlers and effects. */
  client: RefObject<RFB | null>;
  /** Drops any pending wait or failed state and connects at once. */
  reconnectNow: () => void;
}

// Tiles are small, so a low JPEG quality and a high compression level save
// bandwidth and server CPU. The full view keeps noVNC's defaults (6 and 2).
const TILE_QUALITY_LEVEL = 2;
const TILE_COMPRESSION_LEVEL = 6;
const SCREEN_BACKGROUND = "rgb(2 6 23)";

function socketUrl(path: string): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/**
 * Asks the console why it rejected an upgrade: browsers do not expose the
 * status of a failed WebSocket handshake, but a plain GET on the same path
 * runs the same checks and returns the error.
 */
async function probeRejection(path: string): Promise<DropExplanation> {
  try {
    const response = await fetch(path, { cache: "no-store" });
    const body = (await response.json().catch(() => null)) as {
      error?: { message?: string };
    } | null;
    return explainRejection(response.status, body?.error?.message);
  } catch {
    return explainRejection(null);
  }
}

function configureClient(client: RFB, mode: VncViewMode): void {
  client.viewOnly = true;
  client.scaleViewport = true;
  client.clipViewport = false;
  client.resizeSession = false;
  client.background = SCREEN_BACKGROUND;
  if (mode === "tile") {
    client.focusOnClick = false;
    client.showDotCursor = false;
    client.qualityLevel = TILE_QUALITY_LEVEL;
    client.compressionLevel = TILE_COMPRESSION_LEVEL;
  }
}

/**
 * Keeps a noVNC client connected to one sandbox's screen inside `screen`,
 * reconnecting with exponential backoff after each drop. Every connection
 * starts view-only; `viewOnly` is applied once the handshake completes.
 */
export function useRfbConnection(
  screen: RefObject<HTMLDivElement | null>,
  { instanceKey, mode, viewId, enabled, viewOnly, onServerMessage }: RfbConnectionOptions,
): RfbConnection {
  const { host, project, name } = instanceKey;
  const [state, setState] = useState<VncConnectionState>({ phase: "idle" });
  const client = useRef<RFB | null>(null);
  const [generation, setGeneration] = useState(0);
  // A ref, so that a new callback does not reconnect.
  const messageListener = useRef(onServerMessage);
  useEffect(() => {
    messageListener.current = onServerMessage;
  }, [onServerMessage]);

  useEffect(() => {
    const target = screen.current;
    if (!enabled || !target) return;

    let stopped = false;
    let current: RFB | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const backoff = new ReconnectBackoff();
    const path = vncSocketPath({ host, project, name }, viewId, mode);

    const settleDrop = (explanation: DropExplanation) => {
      if (stopped) return;
      if (!explanation.retry) {
        setState({ phase: "disconnected", reason: explanation.message });
        return;
      }
      const delay = backoff.dropped(Date.now());
      setState({ phase: "reconnecting", retryAt: Date.now() + delay, reason: explanation.message });
      retryTimer = setTimeout(() => void connect(), delay);
    };

    const connect = async () => {
      setState({ phase: "connecting" });

      let RfbClient: typeof RFB;
      try {
        RfbClient = (await import("@novnc/novnc")).default;
      } catch (error) {
        settleDrop({ message: `Loading the VNC client failed: ${String(error)}`, retry: true });
        return;
      }
      if (stopped) return;

      // The viewer owns the socket, so the close code and reason that noVNC
      // does not pass on are still readable.
      const socket = new WebSocket(socketUrl(path));
      socket.binaryType = "arraybuffer";
      let opened = false;
      let close: SocketClose | null = null;
      let securityFailure: string | null = null;
      socket.addEventListener("open", () => {
        opened = true;
      });
      socket.addEventListener("close", (event) => {
        close = { code: event.code, reason: event.reason };
      });
      socket.addEventListener("message", () => messageListener.current?.());

      const attempt = new RfbClient(target, socket, { shared: true });
      configureClient(attempt, mode);
      current = attempt;

      attempt.addEventListener("connect", () => {
        if (stopped || current !== attempt) return;
        backoff.connected(Date.now());
        client.current = attempt;
        setState({ phase: "connected" });
      });
      attempt.addEventListener("securityfailure", (event) => {
        securityFailure = event.detail.reason ?? `VNC security negotiation failed (status ${event.detail.status})`;
      });
      attempt.addEventListener("disconnect", () => {
        if (stopped || current !== attempt) return;
        current = null;
        client.current = null;
        if (securityFailure !== null) {
          settleDrop({ message: securityFailure, retry: false });
          return;
        }
        const explanation = explainClose(close, opened);
        if (explanation) settleDrop(explanation);
        else void probeRejection(path).then(settleDrop);
      });
    };

    void connect();

    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      current?.disconnect();
      current = null;
      client.current = null;
      setState({ phase: "idle" });
    };
  }, [screen, enabled, host, project, name, mode, viewId, generation]);

  const connected = state.phase === "connected";
  useEffect(() => {
    const connectedClient = client.current;
    if (!connected || !connectedClient) return;
    connectedClient.viewOnly = viewOnly;
    // A click that focuses the screen would otherwise swallow page shortcuts.
    connectedClient.focusOnClick = mode === "full" && !viewOnly;
  }, [connected, viewOnly, mode]);

  const reconnectNow = useCallback(() => setGeneration((value) => value + 1), []);

  return { state, client, reconnectNow };
}
