import type { Metadata } from "next";
import Link from "next/link";

import { resultStyles } from "@/components/audit/audit-table";
import { auditFiltersToQuery } from "@/lib/audit/filters";
import {
  loadInstanceTimeline,
  MAX_TIMELINE_ROWS,
  parseTimelineQuery,
  type InstanceTimeline,
  type TimelineTarget,
  type ViewSession,
} from "@/lib/audit/timeline";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { formatCpuTime, formatTime } from "@/lib/format";

export const metadata: Metadata = { title: "Instance timeline" };
export const dynamic = "force-dynamic";

type SearchParams = Record<string, string | string[] | undefined>;

export default async function TimelinePage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requirePageUser("audit:read");

  let target: TimelineTarget | null = null;
  let queryError: string | null = null;
  try {
    target = parseTimelineQuery(await searchParams);
  } catch (error) {
    queryError = userMessage(error);
  }
  const timeline = target ? await loadInstanceTimeline(getDb(), target) : null;

  return (
    <div className="space-y-6">
      <div>
        <Link href="/audit" className="text-sm text-sky-700 hover:underline">
          ← Audit log
        </Link>
        <h1 className="mt-1 text-xl font-semibold tracking-tight">
          Timeline{target && `: ${target.instance}`}
        </h1>
        {target && (
          <p className="text-slate-500">
            Host {target.host}, project {target.project}. Console actions and LXD events, oldest first (UTC).{" "}
            <Link href={`/audit?${auditFiltersToQuery(target).toString()}`} className="text-sky-700 hover:underline">
              Filter the audit log to this instance
            </Link>
          </p>
        )}
      </div>

      {queryError && (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-red-800">
          {queryError} Open a timeline from an instance name in the audit log.
        </div>
      )}

      {timeline && <ViewSessions sessions={timeline.viewSessions} />}
      {timeline && <TimelineList timeline={timeline} />}
    </div>
  );
}

function describeDuration(session: ViewSession): string {
  if (session.durationMs !== null) return formatCpuTime(session.durationMs * 1e6);
  if (session.openResult === "success") return "no close recorded";
  return "never opened";
}

function ViewSessions({ sessions }: { sessions: ViewSession[] }) {
  return (
    <section className="space-y-2">
      <h2 className="font-semibold">VNC views</h2>
      {sessions.length === 0 ? (
        <p className="text-slate-500">Nobody viewed this instance&apos;s screen.</p>
      ) : (
        <table className="w-full rounded-md border border-slate-200 bg-white text-left text-sm" data-testid="view-sessions">
          <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-3 py-2 font-medium">Viewer</th>
              <th className="px-3 py-2 font-medium">Mode</th>
              <th className="px-3 py-2 font-medium">Opened</th>
              <th className="px-3 py-2 font-medium">Closed</th>
              <th className="px-3 py-2 font-medium">Duration</th>
              <th className="px-3 py-2 font-medium">Close reason</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {sessions.map((session) => (
              <tr key={session.correlationId}>
                <td className="px-3 py-2">{session.actor}</td>
                <td className="px-3 py-2">{session.mode ?? "—"}</td>
                <td className="px-3 py-2 tabular-nums">{formatTime(session.openedAt.toISOString())}</td>
                <td className="px-3 py-2 tabular-nums">{session.closedAt ? formatTime(session.closedAt.toISOString()) : "—"}</td>
                <td className="px-3 py-2 tabular-nums">{describeDuration(session)}</td>
                <td className="px-3 py-2 text-slate-600">{session.closeReason ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TimelineList({ timeline }: { timeline: InstanceTimeline }) {
  return (
    <section className="space-y-2">
      <h2 className="font-semibold">All entries ({timeline.rows.length})</h2>
      {timeline.truncated && (
        <p className="text-amber-800">
          Only the oldest {MAX_TIMELINE_ROWS} entries are shown. Use the audit log&apos;s time filters for later ones.
        </p>
      )}
      {timeline.rows.length === 0 && <p className="text-slate-500">No audit entries for this instance.</p>}
      <ol className="relative space-y-1 border-l-2 border-slate-200 pl-4" data-testid="timeline">
        {timeline.rows.map((row) => {
          const fromLxd = row.actor.startsWith("lxd:") || row.action.startsWith("lxd.");
          return (
            <li key={row.id} className="relative text-sm" data-testid="timeline-row">
              <span
                className={`absolute -left-[1.4rem] top-1.5 h-2.5 w-2.5 rounded-full ${fromLxd ? "bg-violet-500" : "bg-sky-600"}`}
                aria-hidden="true"
              />
              <Link href={`/audit/${row.id}`} className="flex flex-wrap items-baseline gap-x-3 rounded px-2 py-1 hover:bg-white">
                <span className="tabular-nums text-slate-500">{formatTime(new Date(row.at).toISOString())}</span>
                <span className="font-mono text-xs">{row.action}</span>
                <span className="text-slate-500">{row.phase}</span>
                <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${resultStyles[row.result] ?? ""}`}>{row.result}</span>
                <span>{row.actor}</span>
                {fromLxd && <span className="rounded bg-violet-50 px-1.5 text-xs text-violet-700">LXD</span>}
                {row.durationMs !== null && <span className="text-slate-500">{formatCpuTime(row.durationMs * 1e6)}</span>}
                {row.error && <span className="text-red-700">{row.error}</span>}
              </Link>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
