import { hash } from "node:crypto";
import { sql } from "drizzle-orm";
import { queryRows, type Db } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/db/schema";

/** The row fields covered by the hash: every column except `hash` itself. */
export type HashedAuditFields = Omit<AuditEvent, "hash">;

// Bumped if the serialization below ever changes, so old and new rows
// cannot be confused.
const HASH_FORMAT = "audit-events-v1";

const VERIFY_BATCH_SIZE = 5000;

/**
 * Serializes a JSON value with object keys sorted at every level, so the
 * same value always yields the same text whatever key order Postgres's jsonb
 * or the caller produced.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value) ?? "null";
  }

  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  }

  // Array.prototype.sort without a comparator orders strings by UTF-16 code
  // units, the same in every locale and Node version.
  const record = value as Record<string, unknown>;
  let text = "{";
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    if (text.length > 1) text += ",";
    text += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

/**
 * Computes a row's SHA-256 hash (hex) over a JSON array of its fields in a
 * fixed order, ending with the previous row's hash. JSON escaping keeps field
 * boundaries unambiguous.
 */
export function computeAuditHash(row: HashedAuditFields): string {
  const fields = [
    HASH_FORMAT,
    row.id,
    row.at.toISOString(),
    row.correlationId,
    row.phase,
    row.actorId,
    row.actor,
    row.sourceAddress,
    row.action,
    row.host,
    row.project,
    row.instance,
    row.params === null ? null : canonicalJson(row.params),
    row.result,
    row.error,
    row.operationId,
    row.durationMs,
    row.prevHash,
  ];

  return hash("sha256", JSON.stringify(fields), "hex");
}

/** The reason a row breaks the chain. */
export type ChainBreak = "prev_hash_mismatch" | "hash_mismatch";

/** The outcome of walking the whole audit chain. */
export interface ChainReport {
  /** Rows read, up to and including the first broken one. */
  checkedRows: number;
  /** Id of the last row read, or null for an empty log. */
  lastId: number | null;
  /** The first row that does not fit the chain, or null when it is intact. */
  firstBroken: { id: number; reason: ChainBreak } | null;
}

/**
 * Walks the audit log in id order and reports the first row whose hash does
 * not match its fields ("hash_mismatch") or whose prev_hash does not match
 * the row before it ("prev_hash_mismatch").
 *
 * NOTE: a chain cannot show that rows were removed from its end, for example
 * by TRUNCATE. That needs the latest hash kept somewhere outside this table.
 *
 * TODO: hashing runs on one thread, so 1,000,000 rows take 11 to 27 s on a
 * shared 2-core machine (bench/audit.ts), over the 10 s target. Each row's
 * hash can be checked on its own, so id ranges could go to worker threads.
 */
export async function inspectAuditChain(db: Db): Promise<ChainReport> {
  let previousHash: string | null = null;
  let lastId: number | null = null;
  let checkedRows = 0;
  let nextBatch = readChainBatch(db, 0);

  for (;;) {
    const rows = await nextBatch;
    const last = rows.at(-1);
    // Postgres prepares the next batch while this one is hashed.
    const full = rows.length === VERIFY_BATCH_SIZE && last !== undefined;
    if (full) nextBatch = readChainBatch(db, last.id);

    for (const row of rows) {
      checkedRows += 1;
      lastId = row.id;
      if (row.prevHash !== previousHash) {
        return { checkedRows, lastId, firstBroken: { id: row.id, reason: "prev_hash_mismatch" } };
      }
      if (row.hash !== computeAuditHash(row)) {
        return { checkedRows, lastId, firstBroken: { id: row.id, reason: "hash_mismatch" } };
      }
      previousHash = row.hash;
    }

    if (!full) return { checkedRows, lastId, firstBroken: null };
  }
}

interface RawChainRow extends Record<string, unknown> {
  id: string | number;
  at_ms: string | number;
  correlation_id: string | null;
  phase: AuditEvent["phase"];
  actor_id: string | null;
  actor: string;
  source_address: string | null;
  action: string;
  host: string | null;
  project: string | null;
  instance: string | null;
  params: string | null;
  result: AuditEvent["result"];
  error: string | null;
  operation_id: string | null;
  duration_ms: string | number | null;
  prev_hash: string | null;
  hash: string;
}

/**
 * Reads the rows after `afterId` in id order. A raw query with `at` as epoch
 * milliseconds and params as text read 1,000,000 rows in 3.1 s where
 * drizzle's typed select took 9.2 s (bench/audit.ts's log, 2 shared cores).
 */
async function readChainBatch(db: Db, afterId: number): Promise<AuditEvent[]> {
  const rows = await queryRows<RawChainRow>(
    db,
    sql`select id, round(extract(epoch from at) * 1000)::bigint as at_ms,
          correlation_id, phase, actor_id, actor, source_address, action,
          host, project, instance, params::text as params, result, error,
          operation_id, duration_ms, prev_hash, hash
        from audit_events
        where id > ${afterId}
        order by id
        limit ${VERIFY_BATCH_SIZE}`,
  );

  return rows.map((row) => ({
    id: Number(row.id),
    at: new Date(Number(row.at_ms)),
    correlationId: row.correlation_id,
    phase: row.phase,
    actorId: row.actor_id,
    actor: row.actor,
    sourceAddress: row.source_address,
    action: row.action,
    host: row.host,
    project: row.project,
    instance: row.instance,
    params: row.params === null ? null : (JSON.parse(row.params) as Record<string, unknown>),
    result: row.result,
    error: row.error,
    operationId: row.operation_id,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    prevHash: row.prev_hash,
    hash: row.hash,
  }));
}

/**
 * Returns the id of the first row that breaks the hash chain, or null when
 * the whole chain is intact. See inspectAuditChain for the rules.
 */
export async function verifyAuditChain(db: Db): Promise<number | null> {
  const report = await inspectAuditChain(db);
  return report.firstBroken?.id ?? null;
}
