import type WebSocket from "ws";

import { recordAuditEvent, runAudited, type AuditTarget } from "@/lib/audit/audit";
import { authorize } from "@/lib/auth/request-user";
import type { ConsoleUser } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { getClient } from "@/lib/hosts/registry";
import { fetchInstanceDetail } from "@/lib/instances/detail";
import type { InstanceKey } from "@/lib/instances/types";
import { log } from "@/lib/log";

import { openVncBridge, type VncBridge } from "./bridge";
import { getVncSessions, type ControlChange } from "./sessions";
import type { VncController, VncViewMode } from "./types";

const viewLog = log.child({ component: "vnc-views" });

export interface ViewRequest {
  user: ConsoleUser;
  sourceAddress: string | null;
  key: InstanceKey;
  viewId: string;
  mode: VncViewMode;
}

/**
 * Checks that `key` names a running browser sandbox whose screen can be
 * watched, and that `viewId` is not in use. Throws ConsoleError "not_found"
 * for an unknown host or instance, "conflict" for a stopped instance, one
 * that is not a browser sandbox, or a view id in use, and
 * "host_unreachable" when the host cannot be reached.
 */
export async function assertViewable(key: InstanceKey, viewId: string): Promise<void> {
  const { summary } = await fetchInstanceDetail(key);
  const where = `${key.name} on host ${key.host}`;

  if (summary.sandboxKind !== "browser") {
    const kind = summary.sandboxKind
      ? `a ${summary.sandboxKind} sandbox`
      : "not a sandbox made from the console's images";
    throw new ConsoleError(
      "conflict",
      `${where} is ${kind}; only browser sandboxes have a screen to watch.`,
    );
  }
  if (summary.status !== "Running") {
    throw new ConsoleError(
      "conflict",
      `${where} is ${summary.status.toLowerCase()}; start it to watch its screen.`,
    );
  }
  if (getVncSessions().state(key).viewers.some((view) => view.viewId === viewId)) {
    throw new ConsoleError(
      "conflict",
      `A view with the id ${viewId} is already open on ${key.name}. Reload the page.`,
    );
  }
}

function auditTarget(request: ViewRequest, action: string): AuditTarget {
  return {
    actor: { id: request.user.id, email: request.user.email },
    sourceAddress: request.sourceAddress,
    action,
    host: request.key.host,
    project: request.key.project,
    instance: request.key.name,
    params: { viewId: request.viewId, mode: request.mode },
  };
}

/**
 * Opens a view-only VNC view: writes the "vnc.view.open" intent row, calls
 * `accept` to finish the WebSocket upgrade, relays it through a new bridge
 * and registers the view. When the view ends, for any reason, it is removed
 * and "vnc.view.close" is recorded with its duration, along with
 * "vnc.control.release" if it had control.
 *
 * Throws ConsoleError "audit_unavailable" before `accept` is called when the
 * audit log cannot be written, so the upgrade can still be refused.
 */
export async function openView(
  db: Db,
  request: ViewRequest,
  accept: () => Promise<WebSocket>,
): Promise<VncBridge> {
  const opened = performance.now();
  const registry = getVncSessions();
  let correlationId = "";

  const bridge = await runAudited(db, auditTarget(request, "vnc.view.open"), async (ctx) => {
    correlationId = ctx.correlationId;
    const socket = await accept();
    const opening = await openVncBridge(
      getClient(request.key.host),
      { project: request.key.project, name: request.key.name },
      socket,
      { viewOnly: true, mode: request.mode, hostId: request.key.host },
    );
    try {
      registry.add({
        key: request.key,
        viewId: request.viewId,
        userId: request.user.id,
        userName: request.user.name,
        mode: request.mode,
        bridge: opening,
      });
    } catch (error) {
      opening.close();
      throw error;
    }
    return opening;
  });

  void bridge.ended.then(async (summary) => {
    const released = registry.remove(request.key, request.viewId);
    const durationMs = Math.round(performance.now() - opened);
    try {
      if (released) {
        await recordAuditEvent(db, {
          ...auditTarget(request, "vnc.control.release"),
          params: { viewId: request.viewId, reason: "view closed" },
          result: "success",
          correlationId,
          durationMs: Date.now() - Date.parse(released.since),
        });
      }
      await recordAuditEvent(db, {
        ...auditTarget(request, "vnc.view.close"),
        params: {
          viewId: request.viewId,
          mode: request.mode,
          reason: summary.reason,
          bytesToClient: summary.bytesToClient,
          bytesFromClient: summary.bytesFromClient,
          droppedMessages: summary.droppedMessages,
        },
        result: "success",
        correlationId,
        durationMs,
      });
    } catch (error) {
      viewLog.error(
        { err: error, viewId: request.viewId, correlationId },
        "audit write for a closed VNC view failed",
      );
    }
  });

  return bridge;
}

/**
 * Gives the user's view `viewId` control of the sandbox, taking it from
 * the previous controller, if any. Needs the permission "session:control" (a refusal is
 * audited) and writes "vnc.control.take" rows naming the previous
 * controller.
 */
export async function takeControl(
  db: Db,
  request: Omit<ViewRequest, "mode">,
): Promise<ControlChange> {
  await authorize(request.user, "session:control", request.sourceAddress, db);
  const registry = getVncSessions();
  const previous = registry.state(request.key).controller;

  return runAudited(
    db,
    {
      ...auditTarget({ ...request, mode: "full" }, "vnc.control.take"),
      params: {
        viewId: request.viewId,
        takenFrom: previous && previous.viewId !== request.viewId ? previous.userName : null,
      },
    },
    () => Promise.resolve(registry.take(request.key, request.viewId, request.user.id)),
  );
}

/**
 * Makes the user's view `viewId` view-only again and records
 * "vnc.control.release". Returns null, and records nothing, when the view
 * did not have control.
 */
export async function releaseControl(
  db: Db,
  request: Omit<ViewRequest, "mode">,
): Promise<VncController | null> {
  const registry = getVncSessions();
  if (registry.state(request.key).controller?.viewId !== request.viewId) return null;

  return runAudited(
    db,
    {
      ...auditTarget({ ...request, mode: "full" }, "vnc.control.release"),
      params: { viewId: request.viewId, reason: "released" },
    },
    () => Promise.resolve(registry.release(request.key, request.viewId, request.user.id)),
  );
}
