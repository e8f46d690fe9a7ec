import type { Metadata } from "next";
import Link from "next/link";

import { OperationsPanel } from "@/components/operations/operations-panel";
import { userCan } from "@/lib/auth/permissions";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { formatTime } from "@/lib/format";
import { listOperationHistory } from "@/lib/hosts/operations";
import { getFleet } from "@/lib/hosts/watcher";

export const metadata: Metadata = { title: "Operations" };
export const dynamic = "force-dynamic";

const PAGE_SIZE = 50;

const statusStyles: Record<string, string> = {
  running: "bg-sky-50 text-sky-700",
  success: "bg-emerald-50 text-emerald-700",
  failure: "bg-red-50 text-red-700",
  cancelled: "bg-amber-50 text-amber-800",
};

export default async function OperationsPage({
  searchParams,
}: {
  searchParams: Promise<{ before?: string }>;
}) {
  const user = await requirePageUser("instance:read");
  const before = Number((await searchParams).before);
  const fleet = getFleet();
  await fleet.ready();
  const history = await listOperationHistory(getDb(), {
    limit: PAGE_SIZE,
    beforeId: Number.isInteger(before) && before > 0 ? before : undefined,
  });
  const last = history.at(-1);

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Operations</h1>
        <p className="text-slate-500">
          LXD operations running on every host, and the history of those the console started.
        </p>
      </div>

      <OperationsPanel initial={fleet.operations()} canCancel={userCan(user, "instance:operate")} />

      <section className="space-y-2">
        <h2 className="font-semibold">History</h2>
        {history.length === 0 ? (
          <p className="text-slate-500">The console has not started any operation yet.</p>
        ) : (
          <div className="overflow-x-auto rounded-md border border-slate-200 bg-white">
            <table className="w-full text-left text-sm">
              <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="px-3 py-2 font-medium">Started (UTC)</th>
                  <th className="px-3 py-2 font-medium">Action</th>
                  <th className="px-3 py-2 font-medium">Operation</th>
                  <th className="px-3 py-2 font-medium">Host</th>
                  <th className="px-3 py-2 font-medium">Instance</th>
                  <th className="px-3 py-2 font-medium">Status</th>
                  <th className="px-3 py-2 font-medium">By</th>
                  <th className="px-3 py-2 font-medium">Error</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {history.map((row) => (
                  <tr key={row.id} data-testid="operation-row">
                    <td className="whitespace-nowrap px-3 py-1.5">{formatTime(row.startedAt.toISOString())}</td>
                    <td className="px-3 py-1.5 font-mono text-xs">{row.action}</td>
                    <td className="px-3 py-1.5">
                      {row.description}
                      {row.progress && row.status === "running" ? (
                        <span className="text-slate-500"> · {row.progress}</span>
                      ) : null}
                    </td>
                    <td className="px-3 py-1.5">{row.host}</td>
                    <td className="px-3 py-1.5 font-mono text-xs">{row.instance}</td>
                    <td className="px-3 py-1.5">
                      <span className={`rounded px-1.5 py-0.5 text-xs ${statusStyles[row.status] ?? ""}`}>
                        {row.status}
                      </span>
                    </td>
                    <td className="px-3 py-1.5 text-xs">{row.actor}</td>
                    <td className="max-w-md px-3 py-1.5 text-xs text-red-700">{row.error}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {history.length === PAGE_SIZE && last && (
          <Link href={`/operations?before=${last.id}`} className="text-sky-700 hover:underline">
            Older operations
          </Link>
        )}
      </section>
    </div>
  );
}
