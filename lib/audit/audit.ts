import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from "drizzle-orm";
import { queryRows, type Db } from "@/lib/db/client";
import {
  auditEvents,
  type AuditEvent,
  type auditPhases,
  type auditResults,
} from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { log } from "@/lib/log";
import { rememberConsoleOperation } from "./console-operations";
import { appendAuditEvent, type PhasedEvent } from "./append";
import { trackOwedAuditRows } from "./owed-rows";
import { auditFilterConditions, type AuditFilters } from "./filters";

export type { AuditEvent } from "@/lib/db/schema";

/**
 * Who performed an action. That is a signed-in console user, a named part of
 * the console itself (a script, the event ingester), the LXD requestor named
 * in an LXD lifecycle event (a user name or certificate fingerprint), or an
 * unauthenticated client such as a failed sign-in.
 */
export type AuditActor =
  | { id: string; email: string }
  | { system: string }
  | { lxd: string }
  | { anonymous: true };

export type AuditPhase = (typeof auditPhases)[number];
export type AuditResult = (typeof auditResults)[number];

/** The instance an action targets, and what it was asked to do. */
export interface AuditTarget {
  actor: AuditActor;
  /** The client's IP address as the server saw it. */
  sourceAddress?: string | null;
  /** Dotted resource.verb, for example "instance.start". */
  action: string;
  host?: string | null;
  project?: string | null;
  instance?: string | null;
  /** Request parameters, stored as jsonb. They must not contain secrets. */
  params?: Record<string, unknown> | null;
}

export interface AuditEventInput extends AuditTarget {
  phase?: AuditPhase;
  result: AuditResult;
  error?: string | null;
  correlationId?: string | null;
  operationId?: string | null;
  durationMs?: number | null;
}

export interface AuditContext {
  correlationId: string;
  /** Records the LXD operation id so the outcome row links to it. */
  setOperationId(id: string): void;
}

const MAX_LIST_LIMIT = 500;

/**
 * The windows of ids, from the page's edge, that a full-text search reads
 * before it reads the rest of the log. A word in 1% of rows fills a page
 * of 100 in the first.
 */
const SEARCH_WINDOWS = [10_000, 100_000];

/**
 * Runs `fn` between an intent row and an outcome row that share a
 * correlation id. The intent row is written first. If that fails, `fn` is
 * not called and ConsoleError("audit_unavailable") is thrown.
 *
 * The outcome row records success or the error's message, the operation id
 * and the duration. A failed write is tried again for about four seconds.
 * If it still fails, the failure is logged and `fn`'s result or error still
 * reaches the caller, because the action has happened. Until the outcome is
 * written it is owed (see owed-rows.ts), so a stopping console writes it
 * with UNKNOWN_OUTCOME.
 */
export async function runAudited<T>(
  db: Db,
  target: AuditTarget,
  fn: (ctx: AuditContext) => Promise<T>,
): Promise<T> {
  const correlationId = randomUUID();
  let operationId: string | null = null;

  try {
    await appendAuditEvent(db, {
      ...target,
      phase: "intent",
      result: "pending",
      correlationId,
    });
  } catch (error) {
    log.error(
      { err: error, correlationId, action: target.action },
      "audit intent write failed; action not performed",
    );
    throw new ConsoleError(
      "audit_unavailable",
      `${target.action} was not performed because the audit log could not be ` +
        "written. Check that the database at DATABASE_URL (or the local " +
        "PGlite folder when DATABASE_URL is unset) is reachable, then retry.",
      { cause: error },
    );
  }

  const started = performance.now();
  const context: AuditContext = {
    correlationId,
    setOperationId: (id) => {
      operationId = id;
      if (target.host) rememberConsoleOperation(target.host, id);
    },
  };

  // The action's own end and a stopping console both try to write the
  // outcome, and whichever comes first does.
  let outcomeClaimed = false;
  const finish = async (result: AuditResult, error: string | null) => {
    if (outcomeClaimed) return;
    outcomeClaimed = true;
    const outcome = {
      ...target,
      phase: "outcome" as const,
      result,
      error,
      correlationId,
      operationId,
      durationMs: Math.round(performance.now() - started),
    };

    try {
      await appendWithRetries(db, outcome);
    } catch (writeError) {
      log.error(
        { err: writeError, correlationId, action: target.action, result },
        "audit outcome write failed",
      );
    }
  };

  let settle!: () => void;
  trackOwedAuditRows({
    settled: new Promise<void>((resolve) => {
      settle = resolve;
    }),
    writeNow: () => finish("failure", UNKNOWN_OUTCOME),
  });

  try {
    let value: T;
    try {
      value = await fn(context);
    } catch (error) {
      await finish("failure", errorMessage(error));
      throw error;
    }

    await finish("success", null);
    return value;
  } finally {
    settle();
  }
}

/** The error of an outcome row written because the console stopped first. */
export const UNKNOWN_OUTCOME =
  "The console stopped before this action finished, so its outcome is unknown. " +
  "Check the instance's current state.";

// Waits before the second, third and fourth try of a row that the chain
// owes, such as an outcome, so a database that is back within about four
// seconds loses no row.
const RETRY_DELAYS_MS = [250, 1_000, 3_000];

/**
 * Appends `event`, and tries again after a failure. Before each new try it
 * looks for the row by its correlation id, phase and action, because a
 * write whose reply was lost may have committed.
 */
async function appendWithRetries(
  db: Db,
  event: PhasedEvent & { correlationId: string },
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await appendAuditEvent(db, event);
      return;
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw error;
      log.warn(
        { err: error, correlationId: event.correlationId, action: event.action, attempt: attempt + 1 },
        "audit write failed; trying again",
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (await rowExists(db, event).catch(() => false)) return;
    }
  }
}

async function rowExists(
  db: Db,
  event: PhasedEvent & { correlationId: string },
): Promise<boolean> {
  const rows = await db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.correlationId, event.correlationId),
        eq(auditEvents.phase, event.phase),
        eq(auditEvents.action, event.action),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/**
 * Appends one audit row, such as a refused request, a sign-in or an ingested
 * LXD event. The phase defaults to "event". Throws if the row could not be
 * written.
 */
export async function recordAuditEvent(
  db: Db,
  event: AuditEventInput,
): Promise<AuditEvent> {
  return appendAuditEvent(db, { ...event, phase: event.phase ?? "event" });
}

/**
 * Appends a row that an earlier row of `correlationId` promised, such as a
 * view's close row, and tries again for a few seconds after a failure.
 * Throws if the row could still not be written.
 */
export async function recordOwedAuditEvent(
  db: Db,
  event: AuditEventInput & { correlationId: string },
): Promise<void> {
  await appendWithRetries(db, { ...event, phase: event.phase ?? "event" });
}

/**
 * Lists audit rows newest first, at most `limit` (capped at 500). For the
 * next older page pass the last row's id as `beforeId`. For the next newer
 * page pass the first row's id as `afterId`: the rows just above it are
 * returned, still newest first. Optional host, project and instance filters,
 * and the audit page's `filters`, narrow the list.
 */
export async function listAuditEvents(
  db: Db,
  params: {
    limit: number;
    beforeId?: number;
    afterId?: number;
    host?: string;
    project?: string;
    instance?: string;
    filters?: AuditFilters;
  },
): Promise<AuditEvent[]> {
  const limit = Math.min(Math.max(Math.trunc(params.limit), 1), MAX_LIST_LIMIT);
  const conditions: SQL[] = auditFilterConditions(params.filters ?? {});

  if (params.beforeId !== undefined) {
    conditions.push(lt(auditEvents.id, params.beforeId));
  }
  if (params.afterId !== undefined) {
    conditions.push(gt(auditEvents.id, params.afterId));
  }
  if (params.host !== undefined) {
    conditions.push(eq(auditEvents.host, params.host));
  }
  if (params.project !== undefined) {
    conditions.push(eq(auditEvents.project, params.project));
  }
  if (params.instance !== undefined) {
    conditions.push(eq(auditEvents.instance, params.instance));
  }

  // Walking up from afterId takes the rows nearest to it, oldest first.
  const ascending = params.afterId !== undefined;
  if (params.filters?.q) {
    return listInIdWindows(db, conditions, params.filters, { limit, ascending, beforeId: params.beforeId, afterId: params.afterId });
  }
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(ascending ? asc(auditEvents.id) : desc(auditEvents.id))
    .limit(limit);
  return ascending ? rows.reverse() : rows;
}

/**
 * Lists the rows matching `conditions` window by window of ids, starting
 * next to the page's edge, until the page is full or the log is covered.
 *
 * A search for common words matches thousands of rows. The GIN index finds
 * them, but has no id order, so a plain query reads every match from the
 * table to keep the newest 100 (about 190 ms for "timed out" over 1,000,000
 * rows in bench/audit.ts). Bounded to a window of ids, Postgres reads only
 * the matches inside it, and the first window usually fills the page.
 */
async function listInIdWindows(
  db: Db,
  conditions: SQL[],
  filters: AuditFilters,
  page: { limit: number; ascending: boolean; beforeId?: number; afterId?: number },
): Promise<AuditEvent[]> {
  const edges = auditFilterConditions({ from: filters.from, to: filters.to });
  if (page.beforeId !== undefined) edges.push(lt(auditEvents.id, page.beforeId));
  if (page.afterId !== undefined) edges.push(gt(auditEvents.id, page.afterId));
  const [bounds] = await queryRows<{ low: string | number | null; high: string | number | null }>(
    db,
    sql`select min(id) as low, max(id) as high from audit_events where ${and(sql`true`, ...edges)}`,
  );
  if (!bounds || bounds.low === null || bounds.high === null) return [];

  let low = Number(bounds.low);
  let high = Number(bounds.high);
  const rows: AuditEvent[] = [];
  for (let step = 0; low <= high && rows.length < page.limit; step++) {
    // After the windows, the rest in one query: the word is rare there, so
    // the GIN index finds few rows.
    const size = SEARCH_WINDOWS[step] ?? Number.MAX_SAFE_INTEGER;
    const windowLow = page.ascending ? low : Math.max(low, high - size + 1);
    const windowHigh = page.ascending ? Math.min(high, low + size - 1) : high;
    rows.push(
      ...(await db
        .select()
        .from(auditEvents)
        .where(and(...conditions, gte(auditEvents.id, windowLow), lte(auditEvents.id, windowHigh)))
        .orderBy(page.ascending ? asc(auditEvents.id) : desc(auditEvents.id))
        .limit(page.limit - rows.length)),
    );
    if (page.ascending) low = windowHigh + 1;
    else high = windowLow - 1;
  }
  return page.ascending ? rows.reverse() : rows;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
