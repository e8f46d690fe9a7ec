// Shapes shared by the VNC WebSocket route, the control actions, the SSE
// stream and the viewer components. Free of server imports so client
// components can use them.

import type { InstanceKey } from "@/lib/instances/types";

/** Mode of a viewer's bridge: every frame, or a few per second. */
export type VncViewMode =
  /** The full view: every frame the sandbox sends. */
  | "full"
  /** A tile on the sessions wall: few frames per second, lower quality. */
  | "tile";

/**
 * Minimum time between two screen updates of a tile, in ms. The bridge
 * delays a tile's incremental update requests this long, and the tile copies
 * noVNC's screen onto the page at the same rate.
 */
export const TILE_UPDATE_INTERVAL_MS = 500;

export interface VncViewer {
  /** Random id the browser picks for one viewer component. */
  viewId: string;
  userId: string;
  userName: string;
  mode: VncViewMode;
  /** When the view opened (ISO 8601). */
  openedAt: string;
}

export interface VncController {
  userId: string;
  userName: string;
  /** The view whose input reaches the sandbox. */
  viewId: string;
  /** When control was taken (ISO 8601). */
  since: string;
  /**
   * When the controller's connection dropped (ISO 8601). Set only while
   * control waits for that view to reconnect.
   */
  disconnectedAt?: string;
}

/** Viewers and controller of one sandbox. */
export interface VncSessionState extends InstanceKey {
  viewers: VncViewer[];
  /** Null while every viewer is view-only. */
  controller: VncController | null;
}

/** Path of the VNC WebSocket route of one sandbox. */
export function vncSocketPath(
  key: InstanceKey,
  viewId: string,
  mode: VncViewMode,
): string {
  const query = new URLSearchParams({ project: key.project, view: viewId, mode });
  return (
    `/api/hosts/${encodeURIComponent(key.host)}/instances/` +
    `${encodeURIComponent(key.name)}/vnc?${query.toString()}`
  );
}

/** Key of a sandbox in session maps: "host/project/name". */
export function vncSessionKey(key: InstanceKey): string {
  return `${key.host}/${key.project}/${key.name}`;
}
