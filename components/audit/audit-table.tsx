import Link from "next/link";

import type { AuditEvent } from "@/lib/audit/audit";
import { describePruneRecord } from "@/lib/audit/prune-record";
import { formatTime } from "@/lib/format";

export const resultStyles: Record<string, string> = {
  success: "bg-emerald-50 text-emerald-700",
  failure: "bg-red-50 text-red-700",
  refused: "bg-amber-50 text-amber-800",
  pending: "bg-slate-100 text-slate-600",
};

/** Audit rows newest first; each row's time links to its detail page. */
export function AuditTable({ rows, emptyHref = "/audit" }: { rows: AuditEvent[]; emptyHref?: string }) {
  return (
    <div className="rounded-md border border-slate-200 bg-white">
      {/* table-fixed with set column widths keeps long values from widening
          the page: cells wrap or truncate, and the title shows the whole value. */}
      <table className="w-full table-fixed text-left" data-testid="audit-table">
        <colgroup>
          <col className="w-44" />
          <col className="w-44" />
          <col className="w-36" />
          <col className="w-20" />
          <col className="w-44" />
          <col className="w-24" />
          <col className="w-24" />
          <col className="w-28" />
          <col />
        </colgroup>
        <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="px-3 py-2 font-medium">Time (UTC)</th>
            <th className="px-3 py-2 font-medium">Actor</th>
            <th className="px-3 py-2 font-medium">Action</th>
            <th className="px-3 py-2 font-medium">Phase</th>
            <th className="px-3 py-2 font-medium">Instance</th>
            <th className="px-3 py-2 font-medium">Result</th>
            <th className="px-3 py-2 text-right font-medium">Duration</th>
            <th className="px-3 py-2 font-medium">Operation</th>
            <th className="px-3 py-2 font-medium">Details</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {rows.map((row) => (
            <AuditRow key={String(row.id)} row={row} />
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={9} className="px-3 py-10 text-center text-slate-500">
                No audit entries match.{" "}
                <Link href={emptyHref} className="underline">
                  Show the newest entries
                </Link>
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function AuditRow({ row }: { row: AuditEvent }) {
  const where = row.instance ? `${row.host} / ${row.project}` : "";
  const prune = describePruneRecord(row);

  return (
    <tr data-testid="audit-row" className={`align-top ${prune ? "bg-amber-50" : ""}`}>
      <td className="whitespace-nowrap px-3 py-2 tabular-nums text-slate-600">
        <Link href={`/audit/${row.id}`} className="hover:text-sky-700 hover:underline" title={`Row ${row.id}`}>
          {formatTime(new Date(row.at).toISOString())}
        </Link>
      </td>
      <td className="px-3 py-2">
        <div className="truncate" title={row.actor}>
          {row.actor}
        </div>
        {row.sourceAddress && (
          <div className="truncate text-xs text-slate-400" title={row.sourceAddress}>
            {row.sourceAddress}
          </div>
        )}
      </td>
      <td className="break-words px-3 py-2 font-mono text-xs">{row.action}</td>
      <td className="px-3 py-2 text-slate-600">{row.phase}</td>
      <td className="px-3 py-2">
        {row.instance ? (
          <>
            <Link
              href={timelineHref(row)}
              className="block truncate hover:text-sky-700 hover:underline"
              title={`Timeline of ${row.instance}`}
            >
              {row.instance}
            </Link>
            <div className="truncate text-xs text-slate-400" title={where}>
              {where}
            </div>
          </>
        ) : (
          "—"
        )}
      </td>
      <td className="px-3 py-2">
        <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${resultStyles[row.result] ?? ""}`}>
          {row.result}
        </span>
      </td>
      <td className="whitespace-nowrap px-3 py-2 text-right tabular-nums text-slate-600">
        {row.durationMs !== null ? `${row.durationMs} ms` : "—"}
      </td>
      <td className="truncate px-3 py-2 font-mono text-xs text-slate-500" title={row.operationId ?? ""}>
        {row.operationId ?? "—"}
      </td>
      <td className="px-3 py-2 text-xs text-slate-600">
        {prune && <div className="mb-1 font-medium text-amber-900">{prune}</div>}
        <AuditDetails error={row.error} params={row.params} />
      </td>
    </tr>
  );
}

/**
 * Shows the error and the parameters on two lines at most. A longer text
 * opens in full, wrapped, when the row's details are expanded.
 */
function AuditDetails({
  error,
  params,
}: {
  error: string | null;
  params: Record<string, unknown> | null;
}) {
  const paramsText = params && Object.keys(params).length > 0 ? JSON.stringify(params) : null;
  if (!error && !paramsText) return null;

  const preview = (
    <>
      {error && <span className="text-red-700">{error}</span>}
      {error && paramsText && " "}
      {paramsText && <code className="break-all text-slate-500">{paramsText}</code>}
    </>
  );
  const long = (error?.length ?? 0) + (paramsText?.length ?? 0) > 120;
  if (!long) return <div className="break-words">{preview}</div>;

  return (
    <details className="group">
      <summary className="cursor-pointer list-none">
        <div className="line-clamp-2 break-words group-open:hidden">{preview}</div>
        <span className="text-sky-700 group-open:hidden">Show all</span>
        <span className="hidden text-sky-700 group-open:inline">Show less</span>
      </summary>
      <div className="mt-1 space-y-1 whitespace-pre-wrap break-words">
        {error && <div className="text-red-700">{error}</div>}
        {paramsText && <code className="block text-slate-500">{paramsText}</code>}
      </div>
    </details>
  );
}

/** Links to the incident timeline of the row's instance. */
export function timelineHref(row: Pick<AuditEvent, "host" | "project" | "instance">): string {
  const query = new URLSearchParams({
    host: row.host ?? "",
    project: row.project ?? "",
    instance: row.instance ?? "",
  });
  return `/audit/timeline?${query.toString()}`;
}
