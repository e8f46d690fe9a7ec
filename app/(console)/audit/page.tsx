import type { Metadata } from "next";
import { listAuditEvents } from "@/lib/audit/audit";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { formatTime } from "@/lib/format";

export const metadata: Metadata = { title: "Audit log" };
export const dynamic = "force-dynamic";

const pageSize = 200;

const resultStyles: Record<string, string> = {
  success: "bg-emerald-50 text-emerald-700",
  failure: "bg-red-50 text-red-700",
  refused: "bg-amber-50 text-amber-800",
  pending: "bg-slate-100 text-slate-600",
};

export default async function AuditPage() {
  await requirePageUser("audit:read");
  const rows = await listAuditEvents(getDb(), { limit: pageSize });

  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Audit log</h1>
        <p className="text-slate-500">
          The {pageSize} most recent entries, newest first. Each action has an intent row written
          before LXD is called and an outcome row after, linked by a correlation id.
        </p>
      </div>

      <div className="overflow-x-auto rounded-md border border-slate-200 bg-white">
        <table className="w-full text-left" data-testid="audit-table">
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
              <tr key={String(row.id)} data-testid="audit-row" className="align-top">
                <td className="whitespace-nowrap px-3 py-2 tabular-nums text-slate-600">
                  {formatTime(new Date(row.at).toISOString())}
                </td>
                <td className="px-3 py-2">
                  {row.actor}
                  {row.sourceAddress && <div className="text-xs text-slate-400">{row.sourceAddress}</div>}
                </td>
                <td className="px-3 py-2 font-mono text-xs">{row.action}</td>
                <td className="px-3 py-2 text-slate-600">{row.phase}</td>
                <td className="px-3 py-2">
                  {row.instance ? (
                    <>
                      {row.instance}
                      <div className="text-xs text-slate-400">
                        {row.host} / {row.project}
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
                <td className="px-3 py-2 text-right tabular-nums text-slate-600">
                  {row.durationMs !== null ? `${row.durationMs} ms` : "—"}
                </td>
                <td className="max-w-40 truncate px-3 py-2 font-mono text-xs text-slate-500" title={row.operationId ?? ""}>
                  {row.operationId ?? "—"}
                </td>
                <td className="max-w-md px-3 py-2 text-xs text-slate-600">
                  {row.error && <div className="text-red-700">{row.error}</div>}
                  {row.params && Object.keys(row.params).length > 0 && (
                    <code className="text-slate-500">{JSON.stringify(row.params)}</code>
                  )}
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={9} className="px-3 py-10 text-center text-slate-500">
                  No audit entries yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
