import { recordAuditEvent } from "@/lib/audit/audit";
import {
  exportContentTypes,
  exportFormats,
  streamAuditExport,
  type ExportFormat,
} from "@/lib/audit/export";
import { auditFiltersToQuery, parseAuditFilterParams } from "@/lib/audit/filters";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { errorResponse } from "@/lib/http";

export const dynamic = "force-dynamic";

function parseFormat(value: string | null): ExportFormat {
  const format = value ?? "csv";
  if ((exportFormats as readonly string[]).includes(format)) return format as ExportFormat;
  throw new ConsoleError(
    "invalid_input",
    `Invalid value ${JSON.stringify(format)} for "format": expected "csv" or "jsonl".`,
  );
}

/**
 * Streams the audit rows matching the same filters as the audit page, as
 * CSV or JSON Lines (`format=csv|jsonl`), oldest first. Needs audit:read.
 * The export itself is recorded as an "audit.export" row.
 */
export async function GET(request: Request): Promise<Response> {
  try {
    const user = await requireUser("audit:read");
    const params = new URL(request.url).searchParams;
    const format = parseFormat(params.get("format"));
    const filters = parseAuditFilterParams(params);
    const db = getDb();

    await recordAuditEvent(db, {
      actor: { id: user.id, email: user.email },
      sourceAddress: await getSourceAddress(),
      action: "audit.export",
      params: { format, filters: Object.fromEntries(auditFiltersToQuery(filters)) },
      result: "success",
    });

    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    return new Response(streamAuditExport(db, filters, format), {
      headers: {
        "content-type": exportContentTypes[format],
        "content-disposition": `attachment; filename="audit-${stamp}.${format}"`,
        "cache-control": "no-store",
      },
    });
  } catch (error) {
    return errorResponse(error);
  }
}
