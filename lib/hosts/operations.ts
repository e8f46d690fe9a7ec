import { and, desc, eq, lt, type SQL } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import {
  operationHistory,
  type OperationRecord,
  type operationStatuses,
} from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import {
  LxdError,
  waitForOperation,
  type LxdClient,
  type LxdOperation,
} from "@/lib/lxd";
import { log } from "@/lib/log";

import { getClient } from "./registry";
import type { Fleet, OperationProgress } from "./watcher";

export type OperationStatus = (typeof operationStatuses)[number];

/** Owner of a group of operations: the actor and the console action that started them. */
export interface OperationOwner {
  db: Db;
  /** Email of the user, or "system:NAME". */
  actor: string;
  correlationId: string;
  /** Dotted resource.verb, such as "instance.migrate". */
  action: string;
  project: string;
  instance: string;
}

const operationLog = log.child({ component: "operation-history" });

/**
 * Starts an LXD operation on `host` with `start`, records it in
 * operation_history as running, waits for it and records its outcome.
 * Returns the finished operation; throws what waitForOperation throws.
 * A failed history write is logged and does not fail the action, because
 * the audit log is the record that must not be lost.
 */
export async function runRecordedOperation(
  owner: OperationOwner,
  host: string,
  start: () => Promise<LxdOperation>,
  options: {
    timeoutMs: number;
    onStarted?: (operation: LxdOperation) => void;
    /** Client that started the operation, or the host's shared client when unset. */
    client?: LxdClient;
  },
): Promise<LxdOperation> {
  const operation = await start();
  options.onStarted?.(operation);
  await recordStartedOperation(owner, host, operation);

  try {
    const final = await waitForOperation(options.client ?? getClient(host), operation, {
      timeoutMs: options.timeoutMs,
    });
    await recordOperationOutcome(owner.db, host, operation.id, {
      status: "success",
      error: null,
    });
    return final;
  } catch (error) {
    // After a timeout or a lost connection the operation may still run, so
    // its row stays "running" until an operation event settles it.
    if (error instanceof ConsoleError) throw error;
    await recordOperationOutcome(owner.db, host, operation.id, {
      status: failureStatus(error),
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}

/** Inserts a running row for an operation the console started. */
export async function recordStartedOperation(
  owner: OperationOwner,
  host: string,
  operation: LxdOperation,
): Promise<void> {
  try {
    await owner.db
      .insert(operationHistory)
      .values({
        host,
        lxdOperationId: operation.id,
        action: owner.action,
        description: operation.description,
        project: owner.project,
        instance: owner.instance,
        status: "running",
        actor: owner.actor,
        correlationId: owner.correlationId,
        mayCancel: operation.may_cancel,
      })
      .onConflictDoNothing();
  } catch (error) {
    operationLog.error(
      { err: error, host, operation: operation.id },
      "recording a started operation failed",
    );
  }
}

/** Sets the final status of a recorded operation. */
export async function recordOperationOutcome(
  db: Db,
  host: string,
  id: string,
  outcome: { status: Exclude<OperationStatus, "running">; error: string | null },
): Promise<void> {
  try {
    await db
      .update(operationHistory)
      .set({
        status: outcome.status,
        error: outcome.error,
        mayCancel: false,
        finishedAt: new Date(),
      })
      .where(
        and(
          eq(operationHistory.host, host),
          eq(operationHistory.lxdOperationId, id),
        ),
      );
  } catch (error) {
    operationLog.error(
      { err: error, host, operation: id },
      "recording an operation's outcome failed",
    );
  }
}

/**
 * Updates the recorded operation that an LXD operation event is about:
 * its progress text and cancel flag while it runs, its status and error
 * when it ends. Operations the console did not start have no row and are
 * left alone.
 */
export async function applyOperationEvent(
  db: Db,
  progress: OperationProgress,
): Promise<void> {
  const status = statusFromLxd(progress.status);
  const where = and(
    eq(operationHistory.host, progress.host),
    eq(operationHistory.lxdOperationId, progress.id),
    eq(operationHistory.status, "running"),
  );

  if (status === "running") {
    await db
      .update(operationHistory)
      .set({ progress: progress.progress, mayCancel: progress.mayCancel })
      .where(where);
    return;
  }
  await db
    .update(operationHistory)
    .set({
      status,
      error: progress.error,
      mayCancel: false,
      finishedAt: new Date(),
    })
    .where(where);
}

/**
 * Subscribes to the fleet's operation events and applies them to
 * operation_history. Returns the unsubscribe function.
 */
export function startOperationRecorder(db: Db, fleet: Fleet): () => void {
  return fleet.subscribe((event) => {
    if (event.type !== "operation") return;
    applyOperationEvent(db, event.operation).catch((error: unknown) =>
      operationLog.warn(
        { err: error, host: event.operation.host, operation: event.operation.id },
        "applying an operation event failed",
      ),
    );
  });
}

const globalRecorder = globalThis as typeof globalThis & {
  __sandboxConsoleOperationRecorder?: () => void;
};

/** Starts the process's operation recorder once. */
export function ensureOperationRecorder(db: Db, fleet: Fleet): void {
  globalRecorder.__sandboxConsoleOperationRecorder ??= startOperationRecorder(
    db,
    fleet,
  );
}

const MAX_HISTORY_LIMIT = 200;

/** Lists recorded operations newest first; pass the last id as `beforeId` for the next page. */
export async function listOperationHistory(
  db: Db,
  params: { limit: number; beforeId?: number; status?: OperationStatus },
): Promise<OperationRecord[]> {
  const limit = Math.min(Math.max(Math.trunc(params.limit), 1), MAX_HISTORY_LIMIT);
  const conditions: SQL[] = [];
  if (params.beforeId !== undefined) {
    conditions.push(lt(operationHistory.id, params.beforeId));
  }
  if (params.status !== undefined) {
    conditions.push(eq(operationHistory.status, params.status));
  }
  return db
    .select()
    .from(operationHistory)
    .where(and(...conditions))
    .orderBy(desc(operationHistory.id))
    .limit(limit);
}

function statusFromLxd(status: string): OperationStatus {
  switch (status) {
    case "Success":
      return "success";
    case "Cancelled":
      return "cancelled";
    case "Failure":
      return "failure";
    default:
      return "running";
  }
}

function failureStatus(error: unknown): Exclude<OperationStatus, "running" | "success"> {
  // LXD reports a cancelled operation with status code 401.
  if (error instanceof LxdError && error.status === 401) return "cancelled";
  return "failure";
}
