import { sql, type SQL } from "drizzle-orm";

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
}

const queues = new WeakMap<Db, AppendQueue>();

// TODO: appends stay far below the 2,000 rows/s target. On a 2-core machine
// at load averages of 7 to 18, bench/audit.ts measured 51 rows/s for one
// writer, 37 for 8 writers with a pool each and 190 for 8 writers on one
// pool. That is 1.86, 1.03 and 1.52 times the previous append, which held a
// lock, in the same run. A lone writer still waits for one round trip and
// one commit per row.

/**
 * Appends a row at the end of the hash chain and resolves once it is
 * committed. Appends made through the same `db` while a write is in flight
 * wait and then share one INSERT, so many concurrent actions cost one round
 * trip and one commit instead of one each.
 */
export function appendAuditEvent(db: Db, event: PhasedEvent): Promise<AuditEvent> {
  let queue = queues.get(db);
  if (!queue) {
    queue = { pending: [], draining: false, head: undefined };
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
 * times takes the exclusive lock, so no writer starves.
 */
async function appendWithRetry(db: Db, queue: AppendQueue, events: PhasedEvent[]): Promise<AuditEvent[]> {
  for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS + LOCKED_ATTEMPTS; attempt++) {
    let rows: AuditEvent[] | null;
    try {
      if (attempt <= OPTIMISTIC_ATTEMPTS) {
        queue.head ??= await readChainHead(db);
        rows = await insertAfterHead(db, queue.head, events, { sharedLock: true });
      } else {
        rows = await db.transaction(async (tx) => {
          await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY})`);
          return insertAfterHead(tx, await readChainHead(tx), events);
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

  let inserted: { id: string | number }[];
  try {
    inserted = await queryRows<{ id: string | number }>(
      db,
      sql`insert into audit_events (${sql.raw(insertColumns)})
          select * from (values ${sql.join(values.map(rowValues), sql`, `)}) as v
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

// The export's column list is every column in table order, as the VALUES
// rows below are laid out.
const insertColumns = csvColumns.join(", ");

// VALUES in a SELECT does not take its types from the target columns, so
// each parameter is cast to its column's type.
function rowValues(row: AuditEvent): SQL {
  const params = row.params === null ? null : JSON.stringify(row.params);

  return sql`(${row.id}::bigint, ${row.at.toISOString()}::timestamptz,
    ${row.correlationId}::uuid, ${row.phase}::text, ${row.actorId}::text,
    ${row.actor}::text, ${row.sourceAddress}::text, ${row.action}::text,
    ${row.host}::text, ${row.project}::text, ${row.instance}::text,
    ${params}::jsonb, ${row.result}::text, ${row.error}::text,
    ${row.operationId}::text, ${row.durationMs}::integer,
    ${row.prevHash}::text, ${row.hash}::text)`;
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
