// The browser's list of watched sandboxes, kept in the query cache and patched
// by `vnc-session` events. Free of server imports so client components can
// use it.

import type { InstanceKey } from "@/lib/instances/types";

import { vncSessionKey, type VncController, type VncSessionState } from "./types";

/**
 * Returns `sessions` with the entry of `update`'s sandbox replaced. A sandbox
 * with no viewers and no controller leaves the list, as it does in
 * `GET /api/sessions`.
 */
export function applyVncSessionUpdate(
  sessions: readonly VncSessionState[],
  update: VncSessionState,
): VncSessionState[] {
  const key = vncSessionKey(update);
  const others = sessions.filter((session) => vncSessionKey(session) !== key);
  if (update.viewers.length === 0 && update.controller === null) return others;
  return [...others, update];
}

/** Returns the session of one sandbox, or null while it has no viewers. */
export function findVncSession(
  sessions: readonly VncSessionState[] | undefined,
  key: InstanceKey,
): VncSessionState | null {
  const wanted = vncSessionKey(key);
  return sessions?.find((session) => vncSessionKey(session) === wanted) ?? null;
}

/** The reader of a control label: their user id and, in a viewer, its view id. */
export interface ControlReader {
  userId: string;
  viewId?: string;
}

/**
 * Describes who controls a sandbox, as seen by `reader`, and marks control
 * that waits for the controller's dropped connection to come back.
 */
export function describeController(
  controller: VncController | null,
  reader: ControlReader,
): string {
  if (controller === null) return "Nobody has control";
  const reconnecting = controller.disconnectedAt ? " (reconnecting)" : "";
  if (controller.viewId === reader.viewId) {
    return `You have control in this view${reconnecting}`;
  }
  if (controller.userId === reader.userId) {
    const where = reader.viewId === undefined ? "" : " in another view";
    return `You have control${where}${reconnecting}`;
  }
  return `${controller.userName} has control${reconnecting}`;
}

/**
 * Returns the notice for a view that had control and lost it, or null when
 * `next` still names `viewId`. A release by the view itself needs no notice,
 * so the caller passes only changes it did not make.
 */
export function controlLostNotice(
  next: VncController | null,
  viewId: string,
  readerUserId: string,
): string | null {
  if (next === null) return "Control was released. This view is view-only again.";
  if (next.viewId === viewId) return null;
  const who = next.userId === readerUserId ? "You, in another view," : next.userName;
  return `${who} took control. This view is view-only again.`;
}

/**
 * Value of the sessions wall's `view` search parameter, which names the
 * sandbox whose full view is open: "host/project/name". No part can hold a
 * slash: host ids, LXD project names and instance names all exclude it.
 */
export function sessionViewParam(key: InstanceKey): string {
  return `${key.host}/${key.project}/${key.name}`;
}

/**
 * Reads a decoded `view` search parameter back into an instance key.
 * Returns null for anything but three non-empty parts.
 */
export function parseSessionViewParam(value: string | null): InstanceKey | null {
  const [host, project, name, ...rest] = value?.split("/") ?? [];
  if (!host || !project || !name || rest.length > 0) return null;
  return { host, project, name };
}

/**
 * Returns the search string with the `view` parameter set to `param` (or removed when
 * null) and the other parameters of `search` kept. The slashes stay
 * readable; everything else is encoded.
 */
export function searchWithView(search: string, param: string | null): string {
  const others = new URLSearchParams(search);
  others.delete("view");
  const parts = others.toString() ? [others.toString()] : [];
  if (param !== null) parts.push(`view=${encodeURIComponent(param).replaceAll("%2F", "/")}`);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}
