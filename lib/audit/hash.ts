import { hash } from "node:crypto";
import { sql } from "drizzle-orm";
import { queryRows, type Db } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/db/schema";

import { PRUNE_ACTION } from "./prune-record";

export { PRUNE_ACTION } from "./prune-record";

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
  return hashFields([
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
  ]);
}

function hashFields(fields: (string | number | null)[]): string {
  return hash("sha256", JSON.stringify(fields), "hex");
}

/** The reason a row breaks the chain. */
export type ChainBreak = "prev_hash_mismatch" | "hash_mismatch";

/**
 * The point where pruning cut the chain, from the newest successful prune
 * record that removed rows. The first remaining row must link to
 * `lastRemovedHash`.
 */
export interface PruneAnchor {
  /** Id of the prune record, which is itself a row of the chain. */
  recordId: number;
  lastRemovedId: number;
  lastRemovedHash: string;
}

/** The outcome of walking the whole audit chain. */
export interface ChainReport {
  /** Rows read, up to and including the first broken one. */
  checkedRows: number;
  /** Id of the last row read, or null for an empty log. */
  lastId: number | null;
  /** The first row that does not fit the chain, or null when it is intact. */
  firstBroken: { id: number; reason: ChainBreak } | null;
  /** The prune the first row was checked against, or null if none removed rows. */
  anchor: PruneAnchor | null;
}

/**
 * Walks the audit log in id order and reports the first row whose hash does
 * not match its fields ("hash_mismatch") or whose prev_hash does not match
 * the row before it ("prev_hash_mismatch"). The first row must link to the
 * last row removed by the newest prune, or have no prev_hash when no prune
 * removed rows, so rows deleted from the start outside pruning show up too.
 *
 * NOTE: a chain cannot show that rows were removed from its end, for example
 * by TRUNCATE. Nor can it tell a genuine prune record from one appended at
 * the end by someone who can write the table directly, since the hash has no
 * secret. Both need the latest hash kept somewhere outside this database.
 *
 * TODO: 1,000,000 rows take 48 to 106 s on a 2-core machine at load
 * averages of 9 to 14 (bench/audit.ts), far over the 10 s target. Node
 * spends 20 to 28 s of CPU on one thread, mostly parsing rows and hashing.
 * Reading id ranges in worker threads would use both cores. Building the
 * JSON text in Postgres cut Node's CPU by a quarter but doubled Postgres's,
 * so it was dropped.
 */
export async function inspectAuditChain(db: Db): Promise<ChainReport> {
  const anchor = await readPruneAnchor(db);
  let previousHash: string | null = anchor?.lastRemovedHash ?? null;
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
      const id = row.id;
      checkedRows += 1;
      lastId = id;

      const reason = checkRow(row, previousHash, checkedRows === 1 ? anchor : null);
      if (reason) {
        // The prefetched batch is no longer needed, but must not reject unhandled.
        if (full) nextBatch.catch(() => undefined);
        return { checkedRows, lastId, firstBroken: { id, reason }, anchor };
      }
      previousHash = row.hash;
    }

    if (!full) return { checkedRows, lastId, firstBroken: null, anchor };
  }
}

/**
 * Checks one row against the previous row's hash. The first row is also
 * checked against the prune anchor: a row that the prune removed cannot
 * come back.
 */
function checkRow(row: AuditEvent, previousHash: string | null, anchor: PruneAnchor | null): ChainBreak | null {
  if (row.prevHash !== previousHash) return "prev_hash_mismatch";
  if (anchor && row.id <= anchor.lastRemovedId) return "prev_hash_mismatch";
  if (row.hash !== computeAuditHash(row)) return "hash_mismatch";
  return null;
}

/**
 * Reads the newest successful prune record that removed rows. Its own hash
 * is checked when the walk reaches it, so a forged or edited record breaks
 * the chain at that row.
 */
export async function readPruneAnchor(db: Db): Promise<PruneAnchor | null> {
  const [row] = await queryRows<{ id: string | number; last_removed_id: string | null; last_removed_hash: string | null }>(
    db,
    sql`select id, params->>'lastRemovedId' as last_removed_id,
          params->>'lastRemovedHash' as last_removed_hash
        from audit_events
        where action = ${PRUNE_ACTION} and phase = 'outcome' and result = 'success'
          and params->>'lastRemovedHash' is not null
        order by id desc
        limit 1`,
  );
  if (!row) return null;

  const lastRemovedId = Number(row.last_removed_id);
  return {
    recordId: Number(row.id),
    // A record without a valid id cannot match any row, so nothing passes.
    lastRemovedId: Number.isSafeInteger(lastRemovedId) ? lastRemovedId : Number.MAX_SAFE_INTEGER,
    lastRemovedHash: row.last_removed_hash!,
  };
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
