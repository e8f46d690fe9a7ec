import { and, asc, gt } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { log } from "@/lib/log";

import type { AuditEvent } from "./audit";
import { auditFilterConditions, type AuditFilters } from "./filters";

export const exportFormats = ["csv", "jsonl"] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const exportContentTypes: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/jsonl; charset=utf-8",
};

/** Rows read from the database per query while an export streams. */
const EXPORT_BATCH_SIZE = 1000;

/** CSV columns: the audit_events column names, in table order. */
export const csvColumns = [
  "id",
  "at",
  "correlation_id",
  "phase",
  "actor_id",
  "actor",
  "source_address",
  "action",
  "host",
  "project",
  "instance",
  "params",
  "result",
  "error",
  "operation_id",
  "duration_ms",
  "prev_hash",
  "hash",
] as const;

// Spreadsheets run a cell that starts with one of these as a formula, and
// tab or carriage return can hide such a start from a quick look.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Formats one CSV field: text that a spreadsheet would run as a formula gets
 * a leading apostrophe, and a field with a comma, quote, CR or LF is quoted
 * with its quotes doubled (RFC 4180). Null becomes an empty field.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);

  const text = FORMULA_START.test(value) ? `'${value}` : value;
  if (!/[",\r\n]/.test(text)) return text;
  return `"${text.replaceAll('"', '""')}"`;
}

/**
 * Returns a row's values in csvColumns order, with `at` as ISO 8601 and
 * params as JSON text.
 */
export function auditRowValues(row: AuditEvent): (string | number | null)[] {
  return [
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
    row.params === null ? null : JSON.stringify(row.params),
    row.result,
    row.error,
    row.operationId,
    row.durationMs,
    row.prevHash,
    row.hash,
  ];
}

/** Formats a row as one CSV record, ending with CRLF as RFC 4180 has it. */
export function csvRecord(row: AuditEvent): string {
  return `${auditRowValues(row).map(csvField).join(",")}\r\n`;
}

/**
 * Formats a row as one JSON Lines record. Keys are the row's field names and
 * `at` is ISO 8601, so JSON.parse plus `new Date(at)` gives the row back.
 */
export function jsonLinesRecord(row: AuditEvent): string {
  return `${JSON.stringify({ ...row, at: row.at.toISOString() })}\n`;
}

/**
 * Yields the rows that match `filters`, oldest first, reading them in
 * batches by keyset on the id so memory stays flat however large the log.
 */
export async function* iterateAuditEvents(
  db: Db,
  filters: AuditFilters,
): AsyncGenerator<AuditEvent[]> {
  let lastId = 0;

  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(and(gt(auditEvents.id, lastId), ...auditFilterConditions(filters)))
      .orderBy(asc(auditEvents.id))
      .limit(EXPORT_BATCH_SIZE);

    if (rows.length > 0) yield rows;
    if (rows.length < EXPORT_BATCH_SIZE) return;
    lastId = rows.at(-1)!.id;
  }
}

/**
 * Streams the matching rows as CSV (with a header line) or JSON Lines. The
 * database is read one batch at a time, as the reader pulls.
 */
export function streamAuditExport(
  db: Db,
  filters: AuditFilters,
  format: ExportFormat,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const batches = iterateAuditEvents(db, filters);
  const formatRow = format === "csv" ? csvRecord : jsonLinesRecord;
  let headerSent = format !== "csv";

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(`${csvColumns.join(",")}\r\n`));
        return;
      }

      let next: IteratorResult<AuditEvent[]>;
      try {
        next = await batches.next();
      } catch (error) {
        log.error({ err: error, format }, "audit export failed while reading rows");
        throw error;
      }
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(next.value.map(formatRow).join("")));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
}
