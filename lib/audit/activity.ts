import { sql } from "drizzle-orm";

import { queryRows, type Db } from "@/lib/db/client";

import { auditFilterWhere, type AuditFilters } from "./filters";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The chart covers this much time when the filters set no start. */
export const DEFAULT_ACTIVITY_SPAN_MS = 7 * DAY_MS;
/** Spans up to this long are counted per hour, longer ones per day. */
const MAX_HOURLY_SPAN_MS = 3 * DAY_MS;
/** Longer ranges are cut to their most recent 400 days, to bound the bars. */
const MAX_ACTIVITY_SPAN_MS = 400 * DAY_MS;

export type ActivityUnit = "hour" | "day";

/** Matching audit rows counted per hour or per day. */
export interface AuditActivity {
  unit: ActivityUnit;
  /** Start of the first bucket, on a UTC hour or day boundary. */
  from: Date;
  /** End of the counted range (exclusive). */
  to: Date;
  /** One bucket per unit from `from` up to `to`, including empty ones. */
  buckets: { start: Date; count: number }[];
}

/**
 * Counts the rows that match `filters` per hour or per day (UTC). The range
 * is the filters' from/to; without `from` it is the 7 days before `to`, and
 * without `to` it ends at `now`.
 */
export async function loadAuditActivity(
  db: Db,
  filters: AuditFilters,
  now = new Date(),
): Promise<AuditActivity> {
  const to = filters.to ?? now;
  const earliest = new Date(to.getTime() - MAX_ACTIVITY_SPAN_MS);
  let requestedFrom = filters.from ?? new Date(to.getTime() - DEFAULT_ACTIVITY_SPAN_MS);
  if (requestedFrom < earliest) requestedFrom = earliest;

  const unit: ActivityUnit =
    to.getTime() - requestedFrom.getTime() <= MAX_HOURLY_SPAN_MS ? "hour" : "day";
  const stepMs = unit === "hour" ? HOUR_MS : DAY_MS;
  const from = new Date(Math.floor(requestedFrom.getTime() / stepMs) * stepMs);

  const where = auditFilterWhere({ ...filters, from: requestedFrom, to });
  const rows = await queryRows<{ bucket_ms: string | number; count: string | number }>(
    db,
    sql`select extract(epoch from date_trunc(${unit}, at, 'UTC'))::float8 * 1000 as bucket_ms,
          count(*) as count
        from audit_events
        where ${where}
        group by 1`,
  );
  const counts = new Map(rows.map((row) => [Number(row.bucket_ms), Number(row.count)]));

  const buckets: AuditActivity["buckets"] = [];
  for (let start = from.getTime(); start < to.getTime(); start += stepMs) {
    buckets.push({ start: new Date(start), count: counts.get(start) ?? 0 });
  }
  return { unit, from, to, buckets };
}
