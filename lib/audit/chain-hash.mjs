// The audit chain's hash and the walk that checks it, in plain JavaScript
// because chain-worker.mjs runs this in worker threads. A worker is started
// from a file, and plain Node (Vitest's, or the production server's) cannot
// load TypeScript there. Types are in chain-hash.d.mts; hash.ts wraps it.

import { hash } from "node:crypto";

// Bumped if the serialization below ever changes, so old and new rows
// cannot be confused.
const HASH_FORMAT = "audit-events-v1";

/**
 * The columns that a chain walk reads, with `at` as epoch milliseconds and
 * params as jsonb text, which parse faster than drizzle's typed rows.
 */
export const CHAIN_COLUMNS = `id, round(extract(epoch from at) * 1000)::bigint as at_ms,
  correlation_id, phase, actor_id, actor, source_address, action, host,
  project, instance, params::text as params, result, error, operation_id,
  duration_ms, prev_hash, hash`;

/**
 * Serializes a JSON value with object keys sorted at every level, so the
 * same value always yields the same text whatever key order Postgres's jsonb
 * or the caller produced.
 *
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value) ?? "null";
  }

  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ",";
      text += canonicalJson(value[i] ?? null);
    }
    return `${text}]`;
  }

  // Array.prototype.sort without a comparator orders strings by UTF-16 code
  // units, the same in every locale and Node version.
  const record = /** @type {Record<string, unknown>} */ (value);
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let text = "{";
  for (const key of keys) {
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
 *
 * @param {import("./chain-hash.d.mts").HashedAuditFields} row
 * @returns {string}
 */
export function computeAuditHash(row) {
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

/**
 * Computes the same hash as computeAuditHash straight from a row read with
 * CHAIN_COLUMNS, without building the typed row first.
 *
 * @param {import("./chain-hash.d.mts").RawChainRow} row
 * @returns {string}
 */
export function rawChainRowHash(row) {
  return hashFields([
    HASH_FORMAT,
    Number(row.id),
    new Date(Number(row.at_ms)).toISOString(),
    row.correlation_id,
    row.phase,
    row.actor_id,
    row.actor,
    row.source_address,
    row.action,
    row.host,
    row.project,
    row.instance,
    row.params === null ? null : canonicalJson(JSON.parse(row.params)),
    row.result,
    row.error,
    row.operation_id,
    row.duration_ms === null ? null : Number(row.duration_ms),
    row.prev_hash,
  ]);
}

/** @param {(string | number | null)[]} fields */
function hashFields(fields) {
  return hash("sha256", JSON.stringify(fields), "hex");
}

/**
 * Walks one id range of the chain in id order. `readBatch(afterId)` returns
 * up to `batchSize` rows of the range after `afterId`, in id order.
 *
 * Every row's hash is checked, and every row's prev_hash against the row
 * before it in the range. The first row's link is left to the caller, which
 * has the previous range's last hash or the prune anchor. The walk stops at the first
 * broken row, and `rows` counts up to and including it.
 *
 * @param {(afterId: number) => Promise<import("./chain-hash.d.mts").RawChainRow[]>} readBatch
 * @param {number} afterId
 * @param {number} batchSize
 * @returns {Promise<import("./chain-hash.d.mts").RangeWalk>}
 */
export async function walkChainRange(readBatch, afterId, batchSize) {
  /** @type {import("./chain-hash.d.mts").RangeWalk} */
  const walk = { rows: 0, first: null, lastId: null, lastHash: null, broken: null };
  let nextBatch = readBatch(afterId);

  for (;;) {
    const rows = await nextBatch;
    const last = rows.at(-1);
    // Postgres prepares the next batch while this one is hashed.
    const full = rows.length === batchSize && last !== undefined;
    if (full) nextBatch = readBatch(Number(last.id));

    for (const row of rows) {
      const id = Number(row.id);
      walk.rows += 1;

      if (walk.first === null) {
        walk.first = { id, prevHash: row.prev_hash };
      } else if (row.prev_hash !== walk.lastHash) {
        walk.broken = { id, reason: "prev_hash_mismatch" };
      }
      if (!walk.broken && row.hash !== rawChainRowHash(row)) {
        walk.broken = { id, reason: "hash_mismatch" };
      }
      walk.lastId = id;
      walk.lastHash = row.hash;
      if (walk.broken) {
        // The prefetched batch is no longer needed, but must not reject unhandled.
        if (full) nextBatch.catch(() => undefined);
        return walk;
      }
    }

    if (!full) return walk;
  }
}
