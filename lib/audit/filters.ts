import { and, eq, gte, like, lt, sql, type SQL } from "drizzle-orm";
import { z } from "zod";

import { auditEvents, auditResults } from "@/lib/db/schema";
import { parseInput } from "@/lib/validation";

/**
 * Filters of the audit log, as the audit page, its export and its chart
 * read them from the URL query. Every field is optional and they combine
 * with AND.
 */
export interface AuditFilters {
  /** Rows at or after this time. */
  from?: Date;
  /** Rows before this time. */
  to?: Date;
  /** Exact actor label, such as an email or "lxd:root". */
  actor?: string;
  /** Action prefix: "vnc." matches "vnc.view.open" and "vnc.control.take". */
  action?: string;
  result?: (typeof auditResults)[number];
  host?: string;
  project?: string;
  instance?: string;
  /** Words to find in params and error, in websearch_to_tsquery syntax. */
  q?: string;
}

/** The URL query keys that carry filters, in the order links write them. */
export const auditFilterKeys = [
  "from",
  "to",
  "actor",
  "action",
  "result",
  "host",
  "project",
  "instance",
  "q",
] as const;

export type AuditFilterKey = (typeof auditFilterKeys)[number];

const MAX_FILTER_LENGTH = 200;

// A date, or a date and time to the minute or second, as <input
// type="datetime-local"> sends it. Without a zone it is read as UTC, the
// zone the audit page shows.
const TIME_PATTERN =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(?:Z|[+-]\d{2}:\d{2})?$/;

const time = z
  .string()
  .trim()
  .regex(TIME_PATTERN, "expected a time such as 2026-12-04T17:30 (UTC)")
  .transform((text, ctx) => {
    const hasZone = /(?:Z|[+-]\d{2}:\d{2})$/.test(text);
    const date = new Date(hasZone ? text : `${text.replace(" ", "T")}Z`);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a real date.` });
      return z.NEVER;
    }
    return date;
  });

const text = z.string().trim().max(MAX_FILTER_LENGTH);

const filterSchema = z
  .object({
    from: time.optional(),
    to: time.optional(),
    actor: text.optional(),
    action: text.optional(),
    result: z.enum(auditResults).optional(),
    host: text.optional(),
    project: text.optional(),
    instance: text.optional(),
    q: text.optional(),
  })
  .refine((f) => !f.from || !f.to || f.from < f.to, {
    message: '"from" must be earlier than "to".',
  });

type QueryValues = Record<string, string | string[] | undefined>;

/**
 * Reads the filters from URL query values. Empty values count as absent, so
 * a submitted form with blank fields filters nothing. Throws
 * ConsoleError("invalid_input") naming the bad field.
 */
export function parseAuditFilters(query: QueryValues): AuditFilters {
  const input: Record<string, string> = {};

  for (const key of auditFilterKeys) {
    const raw = query[key];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined && value.trim() !== "") input[key] = value;
  }

  const parsed = parseInput(filterSchema, input);
  const filters: AuditFilters = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== undefined && value !== "") {
      (filters as Record<string, unknown>)[key] = value;
    }
  }
  return filters;
}

/** Reads the filters from a URLSearchParams, as route handlers get them. */
export function parseAuditFilterParams(params: URLSearchParams): AuditFilters {
  const query: QueryValues = {};
  for (const key of auditFilterKeys) query[key] = params.get(key) ?? undefined;
  return parseAuditFilters(query);
}

/**
 * Writes the filters back as URL query pairs, times as ISO 8601, so a link
 * reproduces the same view.
 */
export function auditFiltersToQuery(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();

  for (const key of auditFilterKeys) {
    const value = filters[key];
    if (value === undefined) continue;
    params.set(key, value instanceof Date ? value.toISOString() : value);
  }
  return params;
}

/** Returns whether any filter is set. */
export function hasAuditFilters(filters: AuditFilters): boolean {
  return auditFilterKeys.some((key) => filters[key] !== undefined);
}

/**
 * The text that full-text search covers. It must stay the same expression
 * as the audit_events_search_idx index in lib/db/schema.ts, or Postgres
 * cannot use the index.
 */
export const auditSearchDocument = sql`to_tsvector('simple'::regconfig, coalesce(${auditEvents.params}::text, '') || ' ' || coalesce(${auditEvents.error}, ''))`;

/** Builds the WHERE conditions for `filters`, to combine with and(). */
export function auditFilterConditions(filters: AuditFilters): SQL[] {
  const conditions: SQL[] = [];

  if (filters.from) {
    conditions.push(gte(auditEvents.at, filters.from));
    conditions.push(gte(auditEvents.id, firstIdAtOrAfter(filters.from)));
  }
  if (filters.to) {
    conditions.push(lt(auditEvents.at, filters.to));
    conditions.push(lt(auditEvents.id, sql`coalesce(${firstIdAtOrAfter(filters.to)}, ${Number.MAX_SAFE_INTEGER}::bigint)`));
  }
  if (filters.actor) conditions.push(eq(auditEvents.actor, filters.actor));
  if (filters.action) {
    conditions.push(like(auditEvents.action, `${escapeLike(filters.action)}%`));
  }
  if (filters.result) conditions.push(eq(auditEvents.result, filters.result));
  if (filters.host) conditions.push(eq(auditEvents.host, filters.host));
  if (filters.project) {
    conditions.push(eq(auditEvents.project, filters.project));
  }
  if (filters.instance) {
    conditions.push(eq(auditEvents.instance, filters.instance));
  }
  if (filters.q) {
    conditions.push(
      sql`${auditSearchDocument} @@ websearch_to_tsquery('simple'::regconfig, ${filters.q})`,
    );
  }
  return conditions;
}

/** Returns the conditions for `filters` joined with AND, or undefined. */
export function auditFilterWhere(filters: AuditFilters): SQL | undefined {
  return and(...auditFilterConditions(filters));
}

/**
 * Returns a subquery for the first row id at or after `time`, or null when
 * there is none. The append path keeps `at` non-decreasing in id order, so
 * a time range is also an id range. Adding that id range lets Postgres walk
 * the id-ordered indexes from the right place instead of filtering rows one
 * by one from the newest (about 180 ms for a day in the middle of 1,000,000
 * rows, in bench/audit.ts). Both subqueries use audit_events_at_idx.
 */
function firstIdAtOrAfter(time: Date): SQL {
  return sql`(select min(${auditEvents.id}) from ${auditEvents} where ${auditEvents.at} = (select min(${auditEvents.at}) from ${auditEvents} where ${auditEvents.at} >= ${time.toISOString()}::timestamptz))`;
}

// LIKE treats % and _ as wildcards and backslash as its escape character.
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}
