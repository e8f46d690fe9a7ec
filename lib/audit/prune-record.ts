// Names and wording for prune records, free of server imports so that the
// audit table and client components can use them.

/** Action of the rows that retention pruning writes. */
export const PRUNE_ACTION = "audit.retention.prune";

/**
 * Describes a successful prune outcome row in one sentence, such as
 * "Removed 1,200 rows older than 2026-01-31 00:00:00 UTC (ids 1 to 1,200).
 * The chain now starts after hash 82a4810e…". Returns null for other rows.
 */
export function describePruneRecord(row: {
  action: string;
  phase: string;
  result: string;
  params: Record<string, unknown> | null;
}): string | null {
  if (row.action !== PRUNE_ACTION || row.phase !== "outcome" || row.result !== "success") return null;

  const params = row.params ?? {};
  const before = typeof params.before === "string" ? formatUtc(params.before) : "the cut point";
  const removed = Number(params.removedRows ?? 0);
  if (removed === 0) return `Removed no rows: none were older than ${before}.`;

  const range = `ids ${formatCount(params.firstRemovedId)} to ${formatCount(params.lastRemovedId)}`;
  const hash = typeof params.lastRemovedHash === "string" ? params.lastRemovedHash.slice(0, 16) : "?";
  return (
    `Removed ${formatCount(removed)} rows older than ${before} (${range}). ` +
    `The chain now starts after hash ${hash}…`
  );
}

function formatCount(value: unknown): string {
  const number = Number(value);
  return Number.isFinite(number) ? number.toLocaleString("en-US") : "?";
}

function formatUtc(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().replace("T", " ").slice(0, 19)} UTC`;
}
