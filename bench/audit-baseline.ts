// The audit append and verification as they were before the lock-free
// append and the raw-row verification (commit 860f2e1), kept so that
// bench/audit.ts can time both in one run on the same machine load.

import { desc, sql } from "drizzle-orm";

import type { AuditEventInput } from "@/lib/audit/audit";
import { computeAuditHash } from "@/lib/audit/hash";
import { queryRows, type Db } from "@/lib/db/client";
import { auditEvents, type AuditEvent } from "@/lib/db/schema";

const BASELINE_LOCK_KEY = 0x5a_0d17;
const MAX_BATCH_ROWS = 200;
const VERIFY_BATCH_SIZE = 5000;

interface PendingAppend {
  event: AuditEventInput;
  resolve: (row: AuditEvent) => void;
  reject: (error: unknown) => void;
}

const queues = new WeakMap<Db, { pending: PendingAppend[]; draining: boolean }>();

/**
 * Appends one "event" row the old way. Appends through one `db` queue up
 * and share a transaction that keeps an advisory lock across six round
 * trips.
 */
export function appendBaseline(db: Db, event: AuditEventInput): Promise<AuditEvent> {
  let queue = queues.get(db);
  if (!queue) {
    queue = { pending: [], draining: false };
    queues.set(db, queue);
  }

  const appended = new Promise<AuditEvent>((resolve, reject) => {
    queue.pending.push({ event, resolve, reject });
  });
  if (!queue.draining) void drain(db, queue);
  return appended;
}

async function drain(db: Db, queue: { pending: PendingAppend[]; draining: boolean }): Promise<void> {
  queue.draining = true;
  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0, MAX_BATCH_ROWS);
    try {
      const rows = await insertLocked(db, batch.map((item) => item.event));
      batch.forEach((item, index) => item.resolve(rows[index]!));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
  queue.draining = false;
}

async function insertLocked(db: Db, events: AuditEventInput[]): Promise<AuditEvent[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BASELINE_LOCK_KEY})`);
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
    const sortedIds = ids.map((row) => Number(row.id)).sort((a, b) => a - b);

    const now = new Date();
    const at = last && last.at > now ? last.at : now;
    let prevHash = last?.hash ?? null;
    const values = events.map((event, index) => {
      const row = {
        id: sortedIds[index]!,
        at,
        correlationId: event.correlationId ?? null,
        phase: event.phase ?? ("event" as const),
        actorId: "id" in event.actor ? event.actor.id : null,
        actor: "email" in event.actor ? event.actor.email : "anonymous",
        sourceAddress: event.sourceAddress ?? null,
        action: event.action,
        host: event.host ?? null,
        project: event.project ?? null,
        instance: event.instance ?? null,
        params: event.params ? (JSON.parse(JSON.stringify(event.params)) as Record<string, unknown>) : null,
        result: event.result,
        error: event.error ?? null,
        operationId: event.operationId ?? null,
        durationMs: event.durationMs ?? null,
        prevHash,
      };
      const hash = computeAuditHash(row);
      prevHash = hash;
      return { ...row, hash };
    });

    return tx.insert(auditEvents).values(values).returning();
  });
}

interface RawRow extends Record<string, unknown> {
  id: string | number;
  at_ms: string | number;
  params: string | null;
  duration_ms: string | number | null;
}

/** Walks the chain the old way and returns the id of the first broken row, or null. */
export async function verifyBaseline(db: Db): Promise<{ rows: number; brokenId: number | null }> {
  let previousHash: string | null = null;
  let rows = 0;
  let nextBatch = readBatch(db, 0);

  for (;;) {
    const batch = await nextBatch;
    // As before, Postgres prepares the next batch while this one is hashed.
    const full = batch.length === VERIFY_BATCH_SIZE;
    if (full) nextBatch = readBatch(db, Number(batch.at(-1)!.id));

    for (const raw of batch) {
      const row = {
        id: Number(raw.id),
        at: new Date(Number(raw.at_ms)),
        correlationId: raw.correlation_id as string | null,
        phase: raw.phase as AuditEvent["phase"],
        actorId: raw.actor_id as string | null,
        actor: raw.actor as string,
        sourceAddress: raw.source_address as string | null,
        action: raw.action as string,
        host: raw.host as string | null,
        project: raw.project as string | null,
        instance: raw.instance as string | null,
        params: raw.params === null ? null : (JSON.parse(raw.params) as Record<string, unknown>),
        result: raw.result as AuditEvent["result"],
        error: raw.error as string | null,
        operationId: raw.operation_id as string | null,
        durationMs: raw.duration_ms === null ? null : Number(raw.duration_ms),
        prevHash: raw.prev_hash as string | null,
      };
      rows += 1;
      if (row.prevHash !== previousHash || raw.hash !== computeAuditHash(row)) {
        if (full) nextBatch.catch(() => undefined);
        return { rows, brokenId: row.id };
      }
      previousHash = raw.hash;
    }

    if (!full) return { rows, brokenId: null };
  }
}

function readBatch(db: Db, afterId: number): Promise<RawRow[]> {
  return queryRows<RawRow>(
    db,
    sql`select id, round(extract(epoch from at) * 1000)::bigint as at_ms,
          correlation_id, phase, actor_id, actor, source_address, action,
          host, project, instance, params::text as params, result, error,
          operation_id, duration_ms, prev_hash, hash
        from audit_events where id > ${afterId} order by id limit ${VERIFY_BATCH_SIZE}`,
  );
}
