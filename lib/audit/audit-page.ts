import { z } from "zod";

import type { Db } from "@/lib/db/client";
import { parseInput } from "@/lib/validation";

import { listAuditEvents, type AuditEvent } from "./audit";
import type { AuditFilters } from "./filters";

/** Rows on one page of the audit log. */
export const AUDIT_PAGE_SIZE = 100;

const rowId = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, "expected an audit row id such as 1234")
  .transform(Number);

const auditPageQuery = z
  .object({ before: rowId.optional(), after: rowId.optional() })
  .refine((query) => query.before === undefined || query.after === undefined, {
    message: 'Pass "before" or "after", not both.',
  });

export type AuditPageQuery = z.output<typeof auditPageQuery>;

/** One page of the audit log with the row ids that lead to its neighbours. */
export interface AuditPage {
  /** Newest first. */
  rows: AuditEvent[];
  /** Value of `before` for the next older page, or null on the oldest. */
  olderBefore: number | null;
  /** Value of `after` for the next newer page, or null on the newest. */
  newerAfter: number | null;
}

/**
 * Reads the page position from the audit page's search parameters:
 * `before=ID` for rows older than ID, `after=ID` for rows newer than ID.
 * Throws ConsoleError("invalid_input") naming the bad parameter.
 */
export function parseAuditPageQuery(
  searchParams: Record<string, string | string[] | undefined>,
): AuditPageQuery {
  return parseInput(auditPageQuery, {
    before: searchParams.before,
    after: searchParams.after,
  });
}

/**
 * Loads one page of the audit log by keyset paging on the row id, so a page
 * costs the same wherever it is in the log. With `filters`, only matching
 * rows are listed, and the neighbour links lead to matching rows too.
 */
export async function loadAuditPage(
  db: Db,
  query: AuditPageQuery & { filters?: AuditFilters },
  pageSize = AUDIT_PAGE_SIZE,
): Promise<AuditPage> {
  const filters = query.filters ?? {};
  const rows = await listAuditEvents(db, {
    limit: pageSize,
    beforeId: query.before,
    afterId: query.after,
    filters,
  });
  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) return { rows, olderBefore: null, newerAfter: null };

  const [older, newer] = await Promise.all([
    listAuditEvents(db, { limit: 1, beforeId: last.id, filters }),
    listAuditEvents(db, { limit: 1, afterId: first.id, filters }),
  ]);
  return {
    rows,
    olderBefore: older.length > 0 ? last.id : null,
    newerAfter: newer.length > 0 ? first.id : null,
  };
}
