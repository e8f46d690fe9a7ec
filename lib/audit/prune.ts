import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";

import { queryRows, type Db } from "@/lib/db/client";
import { ConsoleError, userMessage } from "@/lib/errors";
import { log } from "@/lib/log";

import { appendAuditEvent, insertAfterHead, readChainHead, type PhasedEvent } from "./append";
import type { AuditActor, AuditEvent } from "./audit";
import { PRUNE_ACTION } from "./hash";
import { auditWitnessPath, recordPruneWitness } from "./witness";

// Arbitrary key for pg_advisory_xact_lock, so two prunes take turns. It
// only has to differ from every other advisory lock key the console uses.
export const AUDIT_PRUNE_LOCK_KEY = 0x5a_0d17;

const DAY_MS = 86_400_000;

/** The rows a prune with cut point `before` would remove. */
export interface PrunePlan {
  before: Date;
  /** Rows older than `before`, all of them at the start of the chain. */
  rows: number;
  firstId: number | null;
  lastId: number | null;
}

/** The result of one prune, as its outcome row records it. */
export interface PruneResult extends PrunePlan {
  /** Hash of the last removed row, which the first remaining row links to. */
  lastRemovedHash: string | null;
  /** The outcome row, the anchor that verification checks the start against. */
  record: AuditEvent;
  /** The witness file the prune was written to. */
  witnessFile: string;
  /** The reason writing the prune to the witness file failed, or null. */
  witnessError: string | null;
}

export interface PruneRequest {
  /** Rows whose `at` is earlier than this go. It may not be in the future. */
  before: Date;
  actor: AuditActor;
  sourceAddress?: string | null;
  /**
   * The row count the user confirmed. When set and the count differs, the
   * prune is rejected with "conflict" and nothing is removed.
   */
  expectedRows?: number;
  /** Extra facts for the audit rows, such as how the cut point was chosen. */
  details?: Record<string, unknown>;
  /** The witness file the prune is written to; auditWitnessPath() by default. */
  witnessFile?: string;
}

/**
 * Counts the rows a prune would remove: every row up to the newest one
 * older than `before`. Appends keep `at` from decreasing along the chain,
 * so these are the rows older than `before`.
 */
export async function planAuditPrune(db: Db, before: Date): Promise<PrunePlan> {
  assertValidCutPoint(before);

  const [row] = await queryRows<{ rows: string | number; first_id: string | null; last_id: string | null }>(
    db,
    sql`with cut as (select max(id) as last_id from audit_events where at < ${before.toISOString()}::timestamptz)
        select count(audit_events.id) as rows, min(audit_events.id) as first_id, cut.last_id
        from cut left join audit_events on audit_events.id <= cut.last_id
        group by cut.last_id`,
  );
  return {
    before,
    rows: Number(row?.rows ?? 0),
    firstId: row?.first_id == null ? null : Number(row.first_id),
    lastId: row?.last_id == null ? null : Number(row.last_id),
  };
}

/**
 * Removes the audit rows older than `before` and appends an outcome row,
 * action "audit.retention.prune", that records who pruned, the cut point,
 * the number of rows removed and the id and hash of the last removed row.
 *
 * An intent row is written first, as for every audited action, and a
 * failure row if the prune fails. The deletion and the outcome row commit
 * together, so the first remaining row always links to the hash that the
 * newest prune record holds, and inspectAuditChain checks exactly that.
 * Concurrent appends go on during the DELETE and wait only while the
 * outcome row is written.
 */
export async function pruneAuditLog(db: Db, request: PruneRequest): Promise<PruneResult> {
  assertValidCutPoint(request.before);

  const correlationId = randomUUID();
  const base = {
    actor: request.actor,
    sourceAddress: request.sourceAddress ?? null,
    action: PRUNE_ACTION,
    correlationId,
  };
  const requestParams = { before: request.before.toISOString(), ...request.details };

  let intent: AuditEvent;
  try {
    intent = await appendAuditEvent(db, { ...base, phase: "intent", result: "pending", params: requestParams });
  } catch (error) {
    log.error({ err: error, correlationId, action: PRUNE_ACTION }, "audit intent write failed; prune not performed");
    throw new ConsoleError(
      "audit_unavailable",
      "The audit log was not pruned because its intent row could not be written. " +
        "Check that the database is reachable, then retry.",
      { cause: error },
    );
  }

  const started = performance.now();
  let result: Omit<PruneResult, "witnessFile" | "witnessError">;
  try {
    result = await db.transaction((tx) =>
      pruneInTransaction(tx, request, intent.id, (params) => ({
        ...base,
        phase: "outcome",
        result: "success",
        durationMs: Math.round(performance.now() - started),
        params: { ...requestParams, ...params },
      })),
    );
  } catch (error) {
    await recordPruneFailure(db, {
      ...base,
      phase: "outcome",
      result: "failure",
      error: error instanceof Error ? error.message : String(error),
      durationMs: Math.round(performance.now() - started),
      params: requestParams,
    });
    throw error;
  }

  // Verification accepts removed rows only behind a prune written down
  // outside the database, so a failed write is logged and returned.
  const witnessFile = request.witnessFile ?? auditWitnessPath();
  let witnessError: string | null = null;
  try {
    await recordPruneWitness(result.record, witnessFile);
  } catch (error) {
    witnessError = userMessage(error);
    log.error(
      { err: error, recordId: result.record.id, file: witnessFile },
      "writing the prune to the audit witness file failed; verification will report this prune as unwitnessed",
    );
  }
  return { ...result, witnessFile, witnessError };
}

async function pruneInTransaction(
  tx: Db,
  request: PruneRequest,
  intentId: number,
  outcome: (params: Record<string, unknown>) => PhasedEvent,
): Promise<Omit<PruneResult, "witnessFile" | "witnessError">> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_PRUNE_LOCK_KEY})`);

  // The intent row is never removed, so the chain keeps a row before the
  // outcome row even when the cut point is later than every row.
  const [cut] = await queryRows<{ last_id: string | null; last_hash: string | null; rows: string | number }>(
    tx,
    sql`with cut as (
          select max(id) as last_id from audit_events
          where at < ${request.before.toISOString()}::timestamptz and id < ${intentId})
        select cut.last_id, last.hash as last_hash,
          (select count(*) from audit_events where id <= cut.last_id) as rows
        from cut left join audit_events last on last.id = cut.last_id`,
  );
  const lastId = cut?.last_id == null ? null : Number(cut.last_id);
  const rows = Number(cut?.rows ?? 0);

  if (request.expectedRows !== undefined && rows !== request.expectedRows) {
    throw new ConsoleError(
      "conflict",
      `${rows} audit rows are older than ${request.before.toISOString()} now, not the ` +
        `${request.expectedRows} that were confirmed. Review the count and confirm again.`,
    );
  }

  let firstId: number | null = null;
  if (lastId !== null) {
    firstId = await deleteThrough(tx, lastId, rows);
  }

  // Appends wait from here to the commit, so the outcome row can take the
  // place after the head without racing them.
  await tx.execute(sql`lock table audit_events in share row exclusive mode`);
  const head = await readChainHead(tx);
  const chainParams = {
    removedRows: rows,
    firstRemovedId: firstId,
    lastRemovedId: lastId,
    lastRemovedHash: cut?.last_hash ?? null,
  };
  const [record] = (await insertAfterHead(tx, head, [outcome(chainParams)])) ?? [];
  if (!record) {
    throw new Error("The audit log changed while the audit table was locked for pruning; retry the prune.");
  }

  log.info({ correlationId: record.correlationId, before: request.before, ...chainParams }, "audit log pruned");
  return { before: request.before, rows, firstId, lastId, lastRemovedHash: chainParams.lastRemovedHash, record };
}

/**
 * Deletes the rows up to `lastId` through the triggers' pruning path and
 * returns the first removed id. The setting lasts until the transaction ends.
 */
async function deleteThrough(tx: Db, lastId: number, expectedRows: number): Promise<number | null> {
  await tx.execute(sql`select set_config('sandbox_console.audit_prune_through', ${String(lastId)}, true)`);
  const [removed] = await queryRows<{ rows: string | number; first_id: string | null }>(
    tx,
    sql`with removed as (delete from audit_events where id <= ${lastId} returning id)
        select count(*) as rows, min(id) as first_id from removed`,
  );

  const count = Number(removed?.rows ?? 0);
  if (count !== expectedRows) {
    throw new Error(`Pruning removed ${count} audit rows where ${expectedRows} were counted; nothing was removed.`);
  }
  return removed?.first_id == null ? null : Number(removed.first_id);
}

async function recordPruneFailure(db: Db, event: PhasedEvent): Promise<void> {
  try {
    await appendAuditEvent(db, event);
  } catch (writeError) {
    log.error(
      { err: writeError, correlationId: event.correlationId, action: PRUNE_ACTION },
      "audit outcome write failed",
    );
  }
}

// A date (midnight UTC) or a date and time with Z or an offset. A time
// without a zone would depend on the server's time zone.
const ISO_CUT_POINT =
  /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Audit rows are never older than the Unix epoch, so earlier cut points are typos. */
const EARLIEST_CUT_YEAR = 1970;

/**
 * Returns why the fields of an ISO_CUT_POINT match name no real moment, or
 * null. Date parsing alone would roll 2026-02-30 over to March 2.
 */
function calendarProblem(match: RegExpExecArray): string | null {
  const [year, month, day] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  if (year < EARLIEST_CUT_YEAR) return `the year must be ${EARLIEST_CUT_YEAR} or later`;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12) return `there is no month ${month}`;
  if (day < 1 || day > daysInMonth) return `${match[1]}-${match[2]} has no day ${day}`;

  const hour = match[5] === undefined ? 0 : Number(match[5]);
  const minute = match[6] === undefined ? 0 : Number(match[6]);
  const second = match[8] === undefined ? 0 : Number(match[8]);
  if (hour > 23 || minute > 59 || second > 59) return "the time must be between 00:00:00 and 23:59:59";
  return null;
}

/**
 * Parses a cut point given as an ISO 8601 date or date-time (`before`) or
 * as a number of whole days to keep (`keepDays`, counted back from `now`).
 * Throws ConsoleError("invalid_input") naming the value and the accepted form.
 */
export function parseCutPoint(
  input: { before?: string; keepDays?: string },
  now = new Date(),
): { before: Date; details: Record<string, unknown> } {
  const { before, keepDays } = input;
  if ((before === undefined) === (keepDays === undefined)) {
    throw new ConsoleError(
      "invalid_input",
      "Give exactly one cut point: --before DATE (such as 2026-01-31) or --keep-days N.",
    );
  }

  if (keepDays !== undefined) {
    const days = Number(keepDays);
    if (!/^\d+$/.test(keepDays) || !Number.isSafeInteger(days) || days < 1) {
      throw new ConsoleError(
        "invalid_input",
        `Invalid --keep-days ${JSON.stringify(keepDays)}: expected a whole number of days of at least 1.`,
      );
    }
    return { before: new Date(now.getTime() - days * DAY_MS), details: { keepDays: days } };
  }

  const date = new Date(before!);
  const match = ISO_CUT_POINT.exec(before!);
  if (!match || Number.isNaN(date.getTime())) {
    throw new ConsoleError(
      "invalid_input",
      `Invalid cut point ${JSON.stringify(before)}: expected an ISO 8601 date such as 2026-01-31 ` +
        "or a date and time with a zone such as 2026-01-31T12:00:00Z.",
    );
  }
  const problem = calendarProblem(match);
  if (problem) {
    throw new ConsoleError("invalid_input", `Invalid cut point ${JSON.stringify(before)}: ${problem}.`);
  }
  return { before: date, details: {} };
}

/** Throws ConsoleError("invalid_input") for an invalid or future cut point. */
function assertValidCutPoint(before: Date): void {
  if (Number.isNaN(before.getTime())) {
    throw new ConsoleError("invalid_input", "Invalid cut point: expected a date such as 2026-01-31.");
  }
  if (before.getTime() > Date.now()) {
    throw new ConsoleError(
      "invalid_input",
      `Invalid cut point ${before.toISOString()}: it is in the future. Choose a date in the past.`,
    );
  }
}
