import { sql } from "drizzle-orm";

import { queryRows, type Db } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/db/schema";
import { log } from "@/lib/log";

import type { AuditActor, AuditEventInput, AuditPhase } from "./audit";
import { csvColumns } from "./export";
import { computeAuditHash, type HashedAuditFields } from "./hash";

/** Rows written in one statement at most when appends queue up. */
const MAX_BATCH_ROWS = 200;

/**
 * Lock-free attempts of one batch before it queues for the exclusive lock.
 * Each failed attempt means another writer appended in between.
 */
const OPTIMISTIC_ATTEMPTS = 3;

/** Attempts under the exclusive lock before the append fails. */
const LOCKED_ATTEMPTS = 20;

/**
 * Batches that go straight to the exclusive lock after one had to take it.
 * Writers in other processes are then appending too, and each lost
 * lock-free attempt costs two round trips that the lock would have saved.
 */
const LOCKED_BATCHES_AFTER_CONTENTION = 16;

// Arbitrary key for the advisory lock that orders appends. It only has to
// differ from every other advisory lock key the console uses. Lock-free
// appends take it shared, and only if it is free. A writer that keeps losing
// takes it exclusively, which stops the lock-free ones until it has written.
export const AUDIT_APPEND_LOCK_KEY = 0x5a_0d18;

/** Postgres's SQLSTATE for unique_violation. */
const UNIQUE_VIOLATION = "23505";

export type PhasedEvent = AuditEventInput & { phase: AuditPhase };

/** The newest row of the chain, which the next appended row links to. */
export interface ChainHead {
  id: number;
  hash: string;
  at: Date;
}

interface PendingAppend {
  event: PhasedEvent;
  resolve: (row: AuditEvent) => void;
  reject: (error: unknown) => void;
}

interface AppendQueue {
  pending: PendingAppend[];
  draining: boolean;
  /**
   * The head this process last wrote or read: null for an empty log,
   * undefined when it must be read again. It may be stale, because other
   * processes append too, and the insert's checks catch that.
   */
  head: ChainHead | null | undefined;
  /** Batches left that take the exclusive lock without trying lock-free. */
  lockedBatches: number;
}

const queues = new WeakMap<Db, AppendQueue>();

// NOTE: only appends through one pool can share a batch. On an idle 2-core
// machine bench/audit.ts measured 2,786, 5,823 and 7,511 rows/s for 8, 32
// and 64 concurrent writers on one pool. A lone writer (685 rows/s) and
// writers in separate processes (394 rows/s) wait for one round trip and
// one commit per append.

/**
 * Appends a row at the end of the hash chain and resolves once it is
 * committed. Appends made through the same `db` while a write is in flight
 * wait and then share one INSERT, so many concurrent actions cost one round
 * trip and one commit instead of one each.
 */
export function appendAuditEvent(db: Db, event: PhasedEvent): Promise<AuditEvent> {
  let queue = queues.get(db);
  if (!queue) {
    queue = { pending: [], draining: false, head: undefined, lockedBatches: 0 };
    queues.set(db, queue);
  }

  const appended = new Promise<AuditEvent>((resolve, reject) => {
    queue.pending.push({ event, resolve, reject });
  });
  if (!queue.draining) void drainQueue(db, queue);
  return appended;
}

async function drainQueue(db: Db, queue: AppendQueue): Promise<void> {
  queue.draining = true;

  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0, MAX_BATCH_ROWS);
    try {
      const rows = await appendWithRetry(db, queue, batch.map((item) => item.event));
      batch.forEach((item, index) => item.resolve(rows[index]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        continue;
      }
      // One bad row must not fail the others' actions, so each row of the
      // failed batch is tried again on its own.
      log.warn({ err: error, rows: batch.length }, "batched audit append failed; retrying rows one by one");
      for (const item of batch) {
        try {
          const [row] = await appendWithRetry(db, queue, [item.event]);
          item.resolve(row!);
        } catch (rowError) {
          item.reject(rowError);
        }
      }
    }
  }

  queue.draining = false;
}

/**
 * Appends `events` after the cached head, and after a fresh head each time
 * another writer got there first. A writer that loses OPTIMISTIC_ATTEMPTS
 * times takes the exclusive lock, so no writer starves. It keeps taking the
 * lock while other writers append between its batches, and goes back to
 * lock-free appends after LOCKED_BATCHES_AFTER_CONTENTION batches without
 * them.
 */
async function appendWithRetry(db: Db, queue: AppendQueue, events: PhasedEvent[]): Promise<AuditEvent[]> {
  const optimisticAttempts = queue.lockedBatches > 0 ? 0 : OPTIMISTIC_ATTEMPTS;
  if (queue.lockedBatches > 0) queue.lockedBatches -= 1;

  for (let attempt = 1; attempt <= optimisticAttempts + LOCKED_ATTEMPTS; attempt++) {
    let rows: AuditEvent[] | null;
    try {
      if (attempt <= optimisticAttempts) {
        queue.head ??= await readChainHead(db);
        rows = await insertAfterHead(db, queue.head, events, { sharedLock: true });
      } else {
        const ownHead = queue.head;
        rows = await db.transaction(async (tx) => {
          await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY})`);
          const head = await readChainHead(tx);
          // Another writer appended since this one last did, so the next
          // batches take the lock as well.
          if (head?.id !== ownHead?.id) queue.lockedBatches = LOCKED_BATCHES_AFTER_CONTENTION;
          return insertAfterHead(tx, head, events);
        });
      }
    } catch (error) {
      queue.head = undefined;
      throw error;
    }

    if (rows) {
      const last = rows.at(-1)!;
      queue.head = { id: last.id, hash: last.hash, at: last.at };
      return rows;
    }
    queue.head = undefined;
  }

  throw new Error(
    `Appending ${events.length} audit rows failed: the chain's newest row kept ` +
      "changing even under the append lock, so a writer outside the console may be " +
      "inserting rows. Retry the action.",
  );
}

/** Reads the newest row of the chain, or null when the log is empty. */
export async function readChainHead(db: Db): Promise<ChainHead | null> {
  const [row] = await queryRows<{ id: string | number; hash: string; at_ms: string | number }>(
    db,
    sql`select id, hash, round(extract(epoch from at) * 1000)::bigint as at_ms
        from audit_events order by id desc limit 1`,
  );
  if (!row) return null;
  return { id: Number(row.id), hash: row.hash, at: new Date(Number(row.at_ms)) };
}

/**
 * Inserts `events` as the rows right after `head`, in one statement, and
 * returns them. Returns null, having written nothing, when `head` is no
 * longer the newest row.
 *
 * Each row gets the id after the previous row's, and the primary key makes
 * a second row with the same id fail. So two writers that start from the
 * same head cannot both succeed, and the chain stays linear without a lock:
 * the loser's INSERT fails whole and it tries again from the new head. The
 * statement also requires `head` to still exist and to be the newest row in
 * its snapshot, so a truncated log is not continued from a head that is gone. With
 * `sharedLock`, it also writes nothing while another writer holds the
 * append lock exclusively. Callers inside a transaction must
 * expect the transaction to be aborted by a unique violation.
 */
export async function insertAfterHead(
  db: Db,
  head: ChainHead | null,
  events: PhasedEvent[],
  options: { sharedLock?: boolean } = {},
): Promise<AuditEvent[] | null> {
  const values = chainRows(head, events);
  const headCheck = head
    ? sql`exists (select 1 from audit_events where id = ${head.id} and hash = ${head.hash})
          and not exists (select 1 from audit_events where id > ${head.id})`
    : sql`not exists (select 1 from audit_events)`;
  // A scalar subquery runs once per statement, so all rows or none pass.
  const lockCheck = options.sharedLock
    ? sql`and (select pg_try_advisory_xact_lock_shared(${AUDIT_APPEND_LOCK_KEY}))`
    : sql``;

  // All rows travel as one JSON parameter, whatever the batch size, so the
  // statement text never changes and Postgres parses the rows in C. With 18
  // parameters a row, 64 writers on one pool appended 1,845 rows/s. With
  // this, they appended 6,070 (2 shared cores, load average 6 to 8, one run each).
  let inserted: { id: string | number }[];
  try {
    inserted = await queryRows<{ id: string | number }>(
      db,
      sql`insert into audit_events (${sql.raw(insertColumns)})
          select ${sql.raw(insertColumns)}
          from json_populate_recordset(null::audit_events, ${JSON.stringify(values.map(rowRecord))}::json)
          where ${headCheck} ${lockCheck}
          returning id`,
    );
  } catch (error) {
    if (isUniqueViolation(error)) return null;
    throw error;
  }
  if (inserted.length === 0) return null;
  if (inserted.length !== values.length) {
    throw new Error(`insert into audit_events wrote ${inserted.length} of ${values.length} rows`);
  }
  return values;
}

/**
 * Gives `events` consecutive ids after `head` and links each to the one
 * before. `at` never decreases along the chain, even if the clock steps
 * back, so time filters can be turned into id ranges (see filters.ts).
 */
function chainRows(head: ChainHead | null, events: PhasedEvent[]): AuditEvent[] {
  const now = new Date();
  const at = head && head.at > now ? head.at : now;
  let prevHash = head?.hash ?? null;
  let id = head ? head.id : 0;

  return events.map((event) => {
    id += 1;
    const row = toHashedFields(event, id, at, prevHash);
    const hash = computeAuditHash(row);
    prevHash = hash;
    return { ...row, hash };
  });
}

// The export's column list is every column in table order, the keys of
// rowRecord below.
const insertColumns = csvColumns.join(", ");

/** Returns a row as a JSON object keyed by column name. */
function rowRecord(row: AuditEvent): Record<(typeof csvColumns)[number], unknown> {
  return {
    id: row.id,
    at: row.at.toISOString(),
    correlation_id: row.correlationId,
    phase: row.phase,
    actor_id: row.actorId,
    actor: row.actor,
    source_address: row.sourceAddress,
    action: row.action,
    host: row.host,
    project: row.project,
    instance: row.instance,
    params: row.params,
    result: row.result,
    error: row.error,
    operation_id: row.operationId,
    duration_ms: row.durationMs,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

/** Returns whether `error`, or an error in its cause chain, is a unique violation. */
function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ((current as { code?: unknown }).code === UNIQUE_VIOLATION) return true;
    current = current.cause;
  }
  return false;
}

function toHashedFields(
  event: PhasedEvent,
  id: number,
  at: Date,
  prevHash: string | null,
): HashedAuditFields {
  return {
    id,
    at,
    correlationId: event.correlationId ?? null,
    phase: event.phase,
    actorId: actorId(event.actor),
    actor: actorLabel(event.actor),
    sourceAddress: event.sourceAddress ?? null,
    action: event.action,
    host: event.host ?? null,
    project: event.project ?? null,
    instance: event.instance ?? null,
    params: normalizeParams(event.params),
    result: event.result,
    error: event.error ?? null,
    operationId: event.operationId ?? null,
    durationMs: event.durationMs ?? null,
    prevHash,
  };
}

function actorId(actor: AuditActor): string | null {
  return "id" in actor ? actor.id : null;
}

/**
 * Formats the `actor` column: an email, "system:<name>", "lxd:<requestor>"
 * or "anonymous".
 */
function actorLabel(actor: AuditActor): string {
  if ("email" in actor) return actor.email;
  if ("system" in actor) return `system:${actor.system}`;
  if ("lxd" in actor) return `lxd:${actor.lxd}`;
  return "anonymous";
}

// A JSON round trip turns Dates into strings and drops undefined fields, so
// the hashed value equals what jsonb stores and returns.
function normalizeParams(
  params: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null {
  if (params === null || params === undefined) return null;
  return JSON.parse(JSON.stringify(params)) as Record<string, unknown>;
}
