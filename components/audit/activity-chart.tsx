import type { AuditActivity } from "@/lib/audit/activity";
import { auditFiltersToQuery, type AuditFilters } from "@/lib/audit/filters";

const WIDTH = 960;
const HEIGHT = 120;
const AXIS_HEIGHT = 18;

function bucketLabel(start: Date, unit: AuditActivity["unit"]): string {
  const iso = start.toISOString();
  return unit === "hour" ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/**
 * Bars of matching audit rows per hour or per day, drawn as plain SVG. Each
 * bar links to the same filters narrowed to its hour or day.
 */
export function ActivityChart({ activity, filters }: { activity: AuditActivity; filters: AuditFilters }) {
  const { buckets, unit } = activity;
  const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  const max = Math.max(1, ...buckets.map((bucket) => bucket.count));
  const barWidth = WIDTH / Math.max(buckets.length, 1);
  const plotHeight = HEIGHT - AXIS_HEIGHT;
  const stepMs = unit === "hour" ? 3_600_000 : 86_400_000;
  const first = buckets[0];
  const last = buckets.at(-1);

  const bucketHref = (start: Date) => {
    const query = auditFiltersToQuery({ ...filters, from: start, to: new Date(start.getTime() + stepMs) });
    return `/audit?${query.toString()}`;
  };

  return (
    <figure className="rounded-md border border-slate-200 bg-white p-3" data-testid="audit-activity">
      <figcaption className="mb-2 flex justify-between text-xs text-slate-500">
        <span>
          {total} matching {total === 1 ? "entry" : "entries"} per {unit} (UTC), {bucketLabel(activity.from, unit)} to{" "}
          {bucketLabel(activity.to, unit)}
        </span>
        <span>peak {total === 0 ? 0 : max}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="h-28 w-full" preserveAspectRatio="none" role="img" aria-label={`Audit entries per ${unit}`}>
        <line x1={0} x2={WIDTH} y1={plotHeight} y2={plotHeight} className="stroke-slate-300" strokeWidth={1} />
        {buckets.map((bucket, index) => {
          const height = (bucket.count / max) * (plotHeight - 4);
          return (
            <a key={bucket.start.getTime()} href={bucketHref(bucket.start)}>
              <title>{`${bucketLabel(bucket.start, unit)}: ${bucket.count}`}</title>
              <rect x={index * barWidth} y={0} width={barWidth} height={plotHeight} className="fill-transparent" />
              <rect
                x={index * barWidth + barWidth * 0.1}
                y={plotHeight - height}
                width={barWidth * 0.8}
                height={Math.max(height, bucket.count > 0 ? 1 : 0)}
                className="fill-sky-600 hover:fill-sky-800"
              />
            </a>
          );
        })}
      </svg>
      <div className="flex justify-between text-xs tabular-nums text-slate-400">
        <span>{first ? bucketLabel(first.start, unit) : ""}</span>
        <span>{last ? bucketLabel(last.start, unit) : ""}</span>
      </div>
    </figure>
  );
}
