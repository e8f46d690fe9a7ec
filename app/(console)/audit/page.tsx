import type { Metadata } from "next";
import Link from "next/link";

import { ActivityChart } from "@/components/audit/activity-chart";
import { AuditFilterForm } from "@/components/audit/audit-filter-form";
import { AuditTable } from "@/components/audit/audit-table";
import { PrunePanel } from "@/components/audit/prune-panel";
import { VerifyChainButton } from "@/components/audit/verify-chain-button";
import { loadAuditActivity } from "@/lib/audit/activity";
import {
  loadAuditPage,
  parseAuditPageQuery,
  type AuditPage as AuditPageData,
} from "@/lib/audit/audit-page";
import {
  auditFilterKeys,
  auditFiltersToQuery,
  hasAuditFilters,
  parseAuditFilters,
  type AuditFilterKey,
  type AuditFilters,
} from "@/lib/audit/filters";
import { userCan } from "@/lib/auth/permissions";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";

export const metadata: Metadata = { title: "Audit log" };
export const dynamic = "force-dynamic";

/** Days of audit log the prune form offers to keep at first. */
const DEFAULT_RETENTION_DAYS = 365;

type SearchParams = Record<string, string | string[] | undefined>;

export default async function AuditPage({
  searchParams,
}: {
  searchParams: Promise<SearchParams>;
}) {
  const user = await requirePageUser("audit:read");

  // A bad filter or page position is the visitor's to fix, so it gets a
  // message here. Errors while loading go to the route's error boundary.
  const params = await searchParams;
  let filters: AuditFilters = {};
  let queryError: string | null = null;
  let position = {};
  try {
    filters = parseAuditFilters(params);
    position = parseAuditPageQuery(params);
  } catch (error) {
    queryError = userMessage(error);
  }

  const db = getDb();
  const [page, activity] = queryError
    ? [null, null]
    : await Promise.all([
        loadAuditPage(db, { ...position, filters }),
        loadAuditActivity(db, filters),
      ]);
  const filterQuery = auditFiltersToQuery(filters);

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
        <VerifyChainButton />
      </div>

      <AuditFilterForm filters={filters} submitted={queryError ? submittedValues(params) : {}} />

      {queryError ? (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-red-800">
          {queryError}{" "}
          <Link href="/audit" className="font-medium underline">
            Show the newest entries
          </Link>
        </div>
      ) : (
        <>
          {activity && <ActivityChart activity={activity} filters={filters} />}
          <div className="flex flex-wrap items-center justify-between gap-2">
            <ExportLinks filterQuery={filterQuery} filtered={hasAuditFilters(filters)} />
            {page && <PageLinks page={page} filterQuery={filterQuery} />}
          </div>
          {page && <AuditTable rows={page.rows} emptyHref="/audit" />}
        </>
      )}

      {page && page.rows.length > 0 && (
        <div className="flex justify-end">
          <PageLinks page={page} filterQuery={filterQuery} />
        </div>
      )}

      {userCan(user, "audit:prune") && <PrunePanel defaultBefore={defaultPruneDate()} />}
    </div>
  );
}

function defaultPruneDate(): string {
  return new Date(Date.now() - DEFAULT_RETENTION_DAYS * 86_400_000).toISOString().slice(0, 10);
}

function submittedValues(params: SearchParams): Partial<Record<AuditFilterKey, string>> {
  const values: Partial<Record<AuditFilterKey, string>> = {};
  for (const key of auditFilterKeys) {
    const value = params[key];
    if (typeof value === "string") values[key] = value;
  }
  return values;
}

function withQuery(path: string, filterQuery: URLSearchParams, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams(filterQuery);
  for (const [key, value] of Object.entries(extra)) query.set(key, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function ExportLinks({ filterQuery, filtered }: { filterQuery: URLSearchParams; filtered: boolean }) {
  const linkStyle = "rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50";

  return (
    <div className="flex items-center gap-2 text-sm">
      <span className="text-slate-500">Export {filtered ? "the filtered entries" : "all entries"}:</span>
      <a href={withQuery("/api/audit/export", filterQuery, { format: "csv" })} className={linkStyle} download>
        CSV
      </a>
      <a href={withQuery("/api/audit/export", filterQuery, { format: "jsonl" })} className={linkStyle} download>
        JSON Lines
      </a>
    </div>
  );
}

function PageLinks({ page, filterQuery }: { page: AuditPageData; filterQuery: URLSearchParams }) {
  const linkStyle = "rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50";
  const disabledStyle = "rounded border border-slate-200 px-3 py-1.5 text-slate-400";

  return (
    <nav aria-label="Audit log pages" className="flex gap-2 text-sm">
      {page.newerAfter !== null ? (
        <>
          <Link href={withQuery("/audit", filterQuery)} className={linkStyle}>
            Newest
          </Link>
          <Link href={withQuery("/audit", filterQuery, { after: String(page.newerAfter) })} className={linkStyle} rel="prev">
            ← Newer
          </Link>
        </>
      ) : (
        <span className={disabledStyle} aria-disabled="true">
          ← Newer
        </span>
      )}
      {page.olderBefore !== null ? (
        <Link href={withQuery("/audit", filterQuery, { before: String(page.olderBefore) })} className={linkStyle} rel="next">
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
