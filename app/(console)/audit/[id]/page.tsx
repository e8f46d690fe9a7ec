import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";

import { AuditTable, resultStyles, timelineHref } from "@/components/audit/audit-table";
import { ConfigDiff } from "@/components/audit/config-diff";
import type { AuditEvent } from "@/lib/audit/audit";
import { diffConfigParams, getAuditEvent, listRelatedAuditEvents } from "@/lib/audit/detail";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { formatCpuTime, formatTime } from "@/lib/format";

export const metadata: Metadata = { title: "Audit entry" };
export const dynamic = "force-dynamic";

export default async function AuditEntryPage({ params }: { params: Promise<{ id: string }> }) {
  await requirePageUser("audit:read");

  const { id } = await params;
  if (!/^[1-9][0-9]{0,14}$/.test(id)) notFound();

  const db = getDb();
  const row = await getAuditEvent(db, Number(id));
  if (!row) notFound();

  const related = await listRelatedAuditEvents(db, row);
  const diff = diffConfigParams(row.params);

  return (
    <div className="space-y-6">
      <div>
        <Link href="/audit" className="text-sm text-sky-700 hover:underline">
          ← Audit log
        </Link>
        <h1 className="mt-1 text-xl font-semibold tracking-tight">
          Audit entry {row.id}: <span className="font-mono text-lg">{row.action}</span>
        </h1>
      </div>

      <EntryFields row={row} />

      {diff && (
        <section className="space-y-2">
          <h2 className="font-semibold">Configuration change</h2>
          <ConfigDiff changes={diff} />
        </section>
      )}

      <section className="space-y-2">
        <h2 className="font-semibold">Parameters</h2>
        {row.params ? (
          <pre className="overflow-x-auto rounded-md border border-slate-200 bg-white p-3 text-xs" data-testid="audit-params">
            {JSON.stringify(row.params, null, 2)}
          </pre>
        ) : (
          <p className="text-slate-500">None recorded.</p>
        )}
      </section>

      <section className="space-y-2">
        <h2 className="font-semibold">Related entries</h2>
        <p className="text-sm text-slate-500">
          Rows with the same correlation id (the other phase of this action) or the same LXD operation id, oldest first.
        </p>
        {related.length > 0 ? <AuditTable rows={related} /> : <p className="text-slate-500">None.</p>}
      </section>
    </div>
  );
}

function EntryFields({ row }: { row: AuditEvent }) {
  const fields: [string, React.ReactNode][] = [
    ["Time (UTC)", formatTime(new Date(row.at).toISOString())],
    ["Phase", row.phase],
    [
      "Result",
      <span key="result" className={`rounded px-1.5 py-0.5 text-xs font-medium ${resultStyles[row.result] ?? ""}`}>
        {row.result}
      </span>,
    ],
    ["Actor", row.actor],
    ["Actor id", row.actorId ?? "—"],
    ["Source address", row.sourceAddress ?? "—"],
    ["Host", row.host ?? "—"],
    ["Project", row.project ?? "—"],
    [
      "Instance",
      row.instance ? (
        <Link key="instance" href={timelineHref(row)} className="text-sky-700 hover:underline">
          {row.instance} (timeline)
        </Link>
      ) : (
        "—"
      ),
    ],
    ["Error", row.error ? <span className="text-red-700">{row.error}</span> : "—"],
    ["Duration", row.durationMs !== null ? `${formatCpuTime(row.durationMs * 1e6)} (${row.durationMs} ms)` : "—"],
    ["LXD operation", row.operationId ?? "—"],
    ["Correlation id", row.correlationId ?? "—"],
    ["Previous hash", row.prevHash ?? "— (first row)"],
    ["Hash", row.hash],
  ];

  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-2 rounded-md border border-slate-200 bg-white p-4 text-sm md:grid-cols-[12rem_1fr]">
      {fields.map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="font-medium text-slate-500">{label}</dt>
          <dd className="break-all font-mono text-xs leading-5 md:text-sm">{value}</dd>
        </div>
      ))}
    </dl>
  );
}
