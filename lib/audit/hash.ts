import { createHash } from "node:crypto";
import { asc, gt } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { auditEvents, type AuditEvent } from "@/lib/db/schema";

/** The row fields covered by the hash: every column except `hash` itself. */
export type HashedAuditFields = Omit<AuditEvent, "hash">;

// Bumped if the serialization below ever changes, so old and new rows
// cannot be confused.
const HASH_FORMAT = "audit-events-v1";

const VERIFY_BATCH_SIZE = 1000;

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

  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => compareCodeUnits(a, b))
    .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`);
  return `{${entries.join(",")}}`;
}

// Locale-independent order, so every Node version and locale sorts alike.
function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
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

  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

/** Why a row breaks the chain. */
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
 */
export async function inspectAuditChain(db: Db): Promise<ChainReport> {
  let previousHash: string | null = null;
  let lastId: number | null = null;
  let checkedRows = 0;

  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.id, lastId ?? 0))
      .orderBy(asc(auditEvents.id))
      .limit(VERIFY_BATCH_SIZE);

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

    if (rows.length < VERIFY_BATCH_SIZE) {
      return { checkedRows, lastId, firstBroken: null };
    }
  }
}

/**
 * Returns the id of the first row that breaks the hash chain, or null when
 * the whole chain is intact. See inspectAuditChain for the rules.
 */
export async function verifyAuditChain(db: Db): Promise<number | null> {
  const report = await inspectAuditChain(db);
  return report.firstBroken?.id ?? null;
}
