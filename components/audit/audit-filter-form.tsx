import Link from "next/link";

import type { AuditFilterKey, AuditFilters } from "@/lib/audit/filters";
import { auditResults } from "@/lib/db/schema";

const inputStyle =
  "w-full rounded border border-slate-300 bg-white px-2 py-1.5 text-sm focus:border-sky-500 focus:outline-none";

/** Formats a time for <input type="datetime-local">, in UTC to the minute. */
function localInputValue(date: Date | undefined): string {
  return date ? date.toISOString().slice(0, 16) : "";
}

/**
 * Renders the audit filters as a GET form, so the filtered view lives in the
 * URL and can be linked. Submitting starts again at the newest matching row.
 * `submitted` contains the raw values of a query that failed to parse, so the
 * visitor can correct them.
 */
export function AuditFilterForm({
  filters,
  submitted = {},
}: {
  filters: AuditFilters;
  submitted?: Partial<Record<AuditFilterKey, string>>;
}) {
  const text = (key: Exclude<AuditFilterKey, "from" | "to">) => submitted[key] ?? filters[key] ?? "";

  return (
    <form
      method="get"
      action="/audit"
      role="search"
      aria-label="Filter audit entries"
      className="grid grid-cols-2 gap-3 rounded-md border border-slate-200 bg-white p-3 text-sm md:grid-cols-4 xl:grid-cols-6"
    >
      <Field label="From (UTC)" name="from">
        <input id="from" name="from" type="datetime-local" defaultValue={localInputValue(filters.from)} className={inputStyle} />
      </Field>
      <Field label="To (UTC)" name="to">
        <input id="to" name="to" type="datetime-local" defaultValue={localInputValue(filters.to)} className={inputStyle} />
      </Field>
      <Field label="Actor" name="actor">
        <input id="actor" name="actor" defaultValue={text("actor")} placeholder="ops@example.com or lxd:root" className={inputStyle} />
      </Field>
      <Field label="Action prefix" name="action">
        <input id="action" name="action" defaultValue={text("action")} placeholder="vnc." className={inputStyle} />
      </Field>
      <Field label="Result" name="result">
        <select id="result" name="result" defaultValue={text("result")} className={inputStyle}>
          <option value="">Any</option>
          {auditResults.map((result) => (
            <option key={result} value={result}>
              {result}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Search params and errors" name="q">
        <input id="q" name="q" type="search" defaultValue={text("q")} placeholder="timeout" className={inputStyle} />
      </Field>
      <Field label="Host" name="host">
        <input id="host" name="host" defaultValue={text("host")} className={inputStyle} />
      </Field>
      <Field label="Project" name="project">
        <input id="project" name="project" defaultValue={text("project")} className={inputStyle} />
      </Field>
      <Field label="Instance" name="instance">
        <input id="instance" name="instance" defaultValue={text("instance")} className={inputStyle} />
      </Field>
      <div className="col-span-2 flex items-end gap-2 md:col-span-1 xl:col-span-3">
        <button type="submit" className="rounded bg-sky-700 px-3 py-1.5 font-medium text-white hover:bg-sky-800">
          Apply filters
        </button>
        <Link href="/audit" className="rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50">
          Clear
        </Link>
      </div>
    </form>
  );
}

function Field({ label, name, children }: { label: string; name: string; children: React.ReactNode }) {
  return (
    <div className="space-y-1">
      <label htmlFor={name} className="block text-xs font-medium text-slate-600">
        {label}
      </label>
      {children}
    </div>
  );
}
