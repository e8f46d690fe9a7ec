import type WebSocket from "ws";

import { recordOwedAuditEvent, runAudited, type AuditTarget } from "@/lib/audit/audit";
import { trackOwedAuditRows } from "@/lib/audit/owed-rows";
import { authorize } from "@/lib/auth/request-user";
import type { ConsoleUser } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { getClient } from "@/lib/hosts/registry";
import { fetchInstanceDetail } from "@/lib/instances/detail";
import type { InstanceKey } from "@/lib/instances/types";
import { log } from "@/lib/log";

import { openVncBridge, type VncBridge, type VncBridgeSummary } from "./bridge";
import { getVncSessions, type ControlChange, type ViewAddition } from "./sessions";
import { getTileWatches, type TileWatchRecord } from "./tile-watches";
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
 * watched, and that no other user has the view id `viewId` open. The same
 * user may reuse a view id: the reconnect of a view replaces its old
 * connection. Throws ConsoleError "not_found" for an unknown host or
 * instance, "conflict" for a stopped instance, one that is not a browser
 * sandbox, or a view id in use by someone else, and "host_unreachable" when
 * the host cannot be reached.
 */
export async function assertViewable(
  key: InstanceKey,
  viewId: string,
  userId: string,
): Promise<void> {
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
  const viewers = getVncSessions().state(key).viewers;
  if (viewers.some((view) => view.viewId === viewId && view.userId !== userId)) {
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
 * Opens a view-only VNC view: calls `accept` to finish the WebSocket
 * upgrade, relays it through a new bridge and registers the view.
 *
 * A full view writes "vnc.view.open" intent and outcome rows around that,
 * and "vnc.view.close" with its duration when it ends. A tile of the
 * sessions wall joins the tile watch of its user, sandbox and client
 * address, so only the first tile connection of a watch writes the open
 * rows and the watch writes one close row (see TileWatchLog).
 *
 * Throws ConsoleError "audit_unavailable" before `accept` is called when the
 * audit log cannot be written, so the upgrade can still be refused.
 */
export async function openView(
  db: Db,
  request: ViewRequest,
  accept: () => Promise<WebSocket>,
): Promise<VncBridge> {
  return request.mode === "tile"
    ? openTileView(db, request, accept)
    : openFullView(db, request, accept);
}

async function openFullView(
  db: Db,
  request: ViewRequest,
  accept: () => Promise<WebSocket>,
): Promise<VncBridge> {
  const opened = performance.now();
  let correlationId = "";

  const bridge = await runAudited(db, auditTarget(request, "vnc.view.open"), async (ctx) => {
    correlationId = ctx.correlationId;
    return connectView(db, request, accept, correlationId);
  });

  // The close row is owed from here on. The bridge's end writes it, or a
  // stopping console does first, with the totals so far.
  let closeWritten = false;
  const writeClose = async (params: Record<string, unknown>) => {
    if (closeWritten) return;
    closeWritten = true;
    try {
      await recordOwedAuditEvent(db, {
        ...auditTarget(request, "vnc.view.close"),
        params: { viewId: request.viewId, mode: request.mode, ...params },
        result: "success",
        correlationId,
        durationMs: Math.round(performance.now() - opened),
      });
    } catch (error) {
      viewLog.error(
        { err: error, viewId: request.viewId, correlationId },
        "audit write for a closed VNC view failed",
      );
    }
  };
  const closed = bridge.ended.then(async (summary) => {
    await endControl(db, request, bridge, summary, correlationId);
    await writeClose({
      reason: summary.reason,
      clientCloseCode: summary.clientCloseCode,
      bytesToClient: summary.bytesToClient,
      bytesFromClient: summary.bytesFromClient,
      droppedMessages: summary.droppedMessages,
    });
  });
  trackOwedAuditRows({
    settled: closed,
    writeNow: async () => {
      const controller = getVncSessions().state(request.key).controller;
      if (controller?.viewId === request.viewId && !closeWritten) {
        await writeControlRow(db, request, "vnc.control.release", {
          params: { viewId: request.viewId, reason: "console stopped" },
          correlationId,
          durationMs: Date.now() - Date.parse(controller.since),
        });
      }
      await writeClose({
        reason: "console_stopped",
        clientCloseCode: null,
        bytesToClient: bridge.bytesToClient,
        bytesFromClient: bridge.bytesFromClient,
        droppedMessages: bridge.droppedMessages,
      });
    },
  });

  return bridge;
}

/**
 * Opens a tile connection within its tile watch. The first connection of
 * a watch is audited like a full view. Later ones wait until it has opened
 * and then join it without rows of their own. If the first one fails, the
 * next connection starts a new watch, which is audited again.
 */
async function openTileView(
  db: Db,
  request: ViewRequest,
  accept: () => Promise<WebSocket>,
): Promise<VncBridge> {
  const watches = getTileWatches();
  const watcher = {
    key: request.key,
    userId: request.user.id,
    sourceAddress: request.sourceAddress,
  };

  for (;;) {
    const existing = watches.find(watcher);
    if (existing === null) break;

    existing.hold();
    if (!(await existing.ready)) continue;
    let bridge: VncBridge;
    try {
      bridge = await connectView(db, request, accept, existing.correlationId);
    } catch (error) {
      existing.release(null);
      throw error;
    }
    endTileView(request, bridge, (summary) => existing.release(summary));
    return bridge;
  }

  const watch = watches.start(watcher, request.viewId, (record) =>
    recordTileWatchClose(db, request, record),
  );
  let correlationId = "";
  let bridge: VncBridge;
  try {
    bridge = await runAudited(db, auditTarget(request, "vnc.view.open"), (ctx) => {
      correlationId = ctx.correlationId;
      return connectView(db, request, accept, correlationId);
    });
  } catch (error) {
    watch.markFailed();
    throw error;
  }
  // The outcome row is written, so joining connections may now go ahead.
  watch.markOpened(correlationId);
  trackOwedAuditRows({ settled: watch.settled, writeNow: () => watch.closeNow() });
  endTileView(request, bridge, (summary) => watch.release(summary));
  return bridge;
}

/** Removes a tile from the registry when it ends, then releases its hold on the watch. */
function endTileView(
  request: ViewRequest,
  bridge: VncBridge,
  release: (summary: VncBridgeSummary) => void,
): void {
  void bridge.ended.then((summary) => {
    getVncSessions().remove(request.key, request.viewId, { bridge });
    release(summary);
  });
}

/**
 * Accepts the upgrade, opens the bridge and registers the view. A view id
 * that comes back to the control it held gets a "vnc.control.resume" row.
 */
async function connectView(
  db: Db,
  request: ViewRequest,
  accept: () => Promise<WebSocket>,
  correlationId: string,
): Promise<VncBridge> {
  const socket = await accept();
  const bridge = await openVncBridge(
    getClient(request.key.host),
    { project: request.key.project, name: request.key.name },
    socket,
    { viewOnly: true, mode: request.mode, hostId: request.key.host },
  );

  let addition: ViewAddition;
  try {
    addition = getVncSessions().add({
      key: request.key,
      viewId: request.viewId,
      userId: request.user.id,
      userName: request.user.name,
      mode: request.mode,
      bridge,
    });
  } catch (error) {
    bridge.close();
    throw error;
  }

  if (addition.resumed) {
    await writeControlRow(db, request, "vnc.control.resume", {
      params: { viewId: request.viewId, reason: "view reconnected" },
      correlationId,
      durationMs: null,
    });
  }
  return bridge;
}

/**
 * Removes an ended view from the registry. A connection that dropped
 * (lost, or its exec ended) keeps its control for the reconnect grace
 * period; one closed on purpose releases it. Either release is audited.
 */
async function endControl(
  db: Db,
  request: ViewRequest,
  bridge: VncBridge,
  summary: VncBridgeSummary,
  correlationId: string,
): Promise<void> {
  const registry = getVncSessions();
  const recordRelease = (controller: VncController, reason: string) =>
    writeControlRow(db, request, "vnc.control.release", {
      params: { viewId: request.viewId, reason },
      correlationId,
      durationMs: Date.now() - Date.parse(controller.since),
    });

  const removal = registry.remove(request.key, request.viewId, {
    bridge,
    keepControl: connectionDropped(summary),
    onControlExpired: (controller) => {
      void recordRelease(controller, "controller did not reconnect in time");
    },
  });
  if (removal.released) await recordRelease(removal.released, "view closed");
  if (removal.suspended) {
    viewLog.info(
      { key: request.key, viewId: request.viewId, graceMs: registry.controlGraceMs },
      "VNC controller dropped; keeping control for a reconnect",
    );
  }
}

/**
 * Returns whether a view ended by losing its connection rather than by a
 * close on purpose: the browser's socket went away without a close frame
 * (code 1006, also after a missed heartbeat), or the exec of socat ended.
 */
export function connectionDropped(summary: VncBridgeSummary): boolean {
  if (summary.reason === "server_closed") return true;
  return summary.reason === "client_closed" && summary.clientCloseCode === CLOSE_ABNORMAL;
}

const CLOSE_ABNORMAL = 1006;

async function writeControlRow(
  db: Db,
  request: ViewRequest,
  action: "vnc.control.release" | "vnc.control.resume",
  row: { params: Record<string, unknown>; correlationId: string; durationMs: number | null },
): Promise<void> {
  try {
    await recordOwedAuditEvent(db, {
      ...auditTarget(request, action),
      params: row.params,
      result: "success",
      correlationId: row.correlationId,
      durationMs: row.durationMs,
    });
  } catch (error) {
    viewLog.error(
      { err: error, viewId: request.viewId, correlationId: row.correlationId, action },
      "audit write for VNC control failed",
    );
  }
}

async function recordTileWatchClose(
  db: Db,
  request: ViewRequest,
  record: TileWatchRecord,
): Promise<void> {
  try {
    await recordOwedAuditEvent(db, {
      ...auditTarget(request, "vnc.view.close"),
      params: {
        viewId: record.firstViewId,
        mode: "tile",
        reason: record.lastReason,
        connections: record.connections,
        failedConnections: record.failedConnections,
        watchedMs: record.watchedMs,
        bytesToClient: record.bytesToClient,
        bytesFromClient: record.bytesFromClient,
        droppedMessages: record.droppedMessages,
      },
      result: "success",
      correlationId: record.correlationId,
      durationMs: record.durationMs,
    });
  } catch (error) {
    viewLog.error(
      { err: error, key: request.key, correlationId: record.correlationId },
      "audit write for a closed tile watch failed",
    );
  }
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
