import type { Metadata } from "next";
import Link from "next/link";
import {
  loadAuditPage,
  parseAuditPageQuery,
  type AuditPage as AuditPageData,
  type AuditPageQuery,
} from "@/lib/audit/audit-page";
import type { AuditEvent } from "@/lib/audit/audit";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { formatTime } from "@/lib/format";

export const metadata: Metadata = { title: "Audit log" };
export const dynamic = "force-dynamic";

const resultStyles: Record<string, string> = {
  success: "bg-emerald-50 text-emerald-700",
  failure: "bg-red-50 text-red-700",
  refused: "bg-amber-50 text-amber-800",
  pending: "bg-slate-100 text-slate-600",
};

type SearchParams = Record<string, string | string[] | undefined>;

export default async function AuditPage({
  searchParams,
}: {
  searchParams: Promise<SearchParams>;
}) {
  await requirePageUser("audit:read");

  // A bad page position is the visitor's to fix, so it gets a message here.
  // Errors while loading go to the route's error boundary.
  let query: AuditPageQuery | null = null;
  let queryError: string | null = null;
  try {
    query = parseAuditPageQuery(await searchParams);
  } catch (error) {
    queryError = userMessage(error);
  }
  const page = query ? await loadAuditPage(getDb(), query) : null;

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Audit log</h1>
          <p className="text-slate-500">
            Newest first. Each action has an intent row written before LXD is called and an outcome
            row after, linked by a correlation id.
          </p>
        </div>
        {page && <PageLinks page={page} />}
      </div>

      {queryError ? (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-red-800">
          {queryError}{" "}
          <Link href="/audit" className="font-medium underline">
            Show the newest entries
          </Link>
        </div>
      ) : (
        page && <AuditTable rows={page.rows} />
      )}

      {page && page.rows.length > 0 && (
        <div className="flex justify-end">
          <PageLinks page={page} />
        </div>
      )}
    </div>
  );
}

function PageLinks({ page }: { page: AuditPageData }) {
  const linkStyle = "rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50";
  const disabledStyle = "rounded border border-slate-200 px-3 py-1.5 text-slate-400";

  return (
    <nav aria-label="Audit log pages" className="flex gap-2 text-sm">
      {page.newerAfter !== null ? (
        <>
          <Link href="/audit" className={linkStyle}>
            Newest
          </Link>
          <Link href={`/audit?after=${page.newerAfter}`} className={linkStyle} rel="prev">
            ← Newer
          </Link>
        </>
      ) : (
        <span className={disabledStyle} aria-disabled="true">
          ← Newer
        </span>
      )}
      {page.olderBefore !== null ? (
        <Link href={`/audit?before=${page.olderBefore}`} className={linkStyle} rel="next">
          Older →
        </Link>
      ) : (
        <span className={disabledStyle} aria-disabled="true">
          Older →
        </span>
      )}
    </nav>
  );
}

function AuditTable({ rows }: { rows: AuditEvent[] }) {
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
                No audit entries on this page.{" "}
                <Link href="/audit" className="underline">
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

  return (
    <tr data-testid="audit-row" className="align-top">
      <td className="whitespace-nowrap px-3 py-2 tabular-nums text-slate-600">
        {formatTime(new Date(row.at).toISOString())}
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
            <div className="truncate" title={row.instance}>
              {row.instance}
            </div>
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
