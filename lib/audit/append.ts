import { desc, sql } from "drizzle-orm";

import { queryRows, type Db } from "@/lib/db/client";
import { auditEvents, type AuditEvent } from "@/lib/db/schema";
import { log } from "@/lib/log";

import type { AuditActor, AuditEventInput, AuditPhase } from "./audit";
import { computeAuditHash, type HashedAuditFields } from "./hash";

// Arbitrary key for pg_advisory_xact_lock. It only has to differ from every
// other advisory lock key the console uses.
export const AUDIT_APPEND_LOCK_KEY = 0x5a_0d17;

/** Rows written in one transaction at most when appends queue up. */
const MAX_BATCH_ROWS = 200;

type PhasedEvent = AuditEventInput & { phase: AuditPhase };

interface PendingAppend {
  event: PhasedEvent;
  resolve: (row: AuditEvent) => void;
  reject: (error: unknown) => void;
}

interface AppendQueue {
  pending: PendingAppend[];
  draining: boolean;
}

const queues = new WeakMap<Db, AppendQueue>();

// TODO: appends stay below 2,000 rows/s on a 2-core machine shared with
// other work: about 370 rows/s for one writer and 1,100 for 8 writers on one
// pool (bench/audit.ts). Every transaction waits for six round trips under
// the advisory lock, and sending the lock and the reads together broke the
// chain in tamper.test.ts, so it was dropped.

/**
 * Appends a row at the end of the hash chain and resolves once it is
 * committed. Appends made through the same `db` while a write is in flight
 * wait and then share one transaction, so many concurrent actions cost one
 * lock, one round of queries and one commit instead of one each.
 */
export function appendAuditEvent(db: Db, event: PhasedEvent): Promise<AuditEvent> {
  let queue = queues.get(db);
  if (!queue) {
    queue = { pending: [], draining: false };
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
      const rows = await insertChained(db, batch.map((item) => item.event));
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
          const [row] = await insertChained(db, [item.event]);
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
 * Inserts `events` in order at the end of the hash chain in one transaction.
 * The advisory lock makes concurrent writers, in this process or others,
 * take turns between reading the last hash and inserting, so the chain
 * stays linear. Ids are drawn under the same lock, which makes id order the
 * chain order, and `at` is never earlier than the previous row's.
 */
async function insertChained(db: Db, events: PhasedEvent[]): Promise<AuditEvent[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY})`);

    const [last] = await tx
      .select({ hash: auditEvents.hash, at: auditEvents.at })
      .from(auditEvents)
      .orderBy(desc(auditEvents.id))
      .limit(1);
    const ids = await queryRows<{ id: string | number }>(
      tx,
      sql`select nextval(pg_get_serial_sequence('audit_events', 'id')) as id
          from generate_series(1, ${events.length})`,
    );
    if (ids.length !== events.length) {
      throw new Error(`nextval returned ${ids.length} ids for ${events.length} audit rows`);
    }
    const sortedIds = ids.map((row) => Number(row.id)).sort((a, b) => a - b);

    // `at` never decreases along the chain, even if the clock steps back,
    // so time filters can be turned into id ranges (see filters.ts).
    const now = new Date();
    const at = last && last.at > now ? last.at : now;
    let prevHash = last?.hash ?? null;
    const values = events.map((event, index) => {
      const row = toHashedFields(event, sortedIds[index]!, at, prevHash);
      const hash = computeAuditHash(row);
      prevHash = hash;
      return { ...row, hash };
    });

    const inserted = await tx.insert(auditEvents).values(values).returning();
    const byId = new Map(inserted.map((row) => [row.id, row]));
    return values.map((value) => {
      const row = byId.get(value.id);
      if (!row) throw new Error(`insert into audit_events returned no row ${value.id}`);
      return row;
    });
  });
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
