import { appendFile, readFile } from "node:fs/promises";
import path from "node:path";

import { and, eq, inArray, sql } from "drizzle-orm";

import { dataDir, queryRows, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { log } from "@/lib/log";

import { readChainHead } from "./append";
import { PRUNE_ACTION } from "./prune-record";

// The hash chain shows a changed, removed or reordered row, but not rows cut
// from its end, nor a chain rebuilt with fresh hashes, nor a prune record
// appended by someone who can write the table directly. All three change
// rows that the console saw earlier. So the console writes what it saw, the
// chain's newest row and each prune it made, to a file outside the database,
// and verification checks the database against that file.

const witnessLog = log.child({ component: "audit-witness" });

/** How often the console records the chain's newest row, when it changed. */
export const WITNESS_INTERVAL_MS = 5 * 60_000;

/** Ids looked up in one query when checking. */
const LOOKUP_BATCH = 5_000;

/** A line of the witness file. */
export interface WitnessEntry {
  /** "head": the newest row at `recordedAt`; "prune": a prune's outcome row. */
  kind: "head" | "prune";
  id: number;
  hash: string;
  recordedAt: string;
}

/** A disagreement between the witness file and the database. */
export interface WitnessProblem {
  kind: "row_missing" | "tail_removed" | "row_rewritten" | "unwitnessed_prune";
  id: number;
  /** When the witness line was written; null for an unwitnessed prune. */
  recordedAt: string | null;
  message: string;
}

/** The outcome of checking the database against the witness file. */
export interface WitnessReport {
  file: string;
  /** Valid lines read. */
  entries: number;
  /** Lines that could not be parsed; each is a problem in itself. */
  invalidLines: number;
  firstRecordedAt: string | null;
  lastRecordedAt: string | null;
  /** In id order; empty when the database agrees with every line. */
  problems: WitnessProblem[];
}

/**
 * Returns the witness file's path: SANDBOX_CONSOLE_AUDIT_WITNESS, or
 * `audit-witness.jsonl` in the data folder. It should sit where database
 * users cannot write, and ideally on another machine's disk or backup.
 */
export function auditWitnessPath(): string {
  return path.resolve(
    /*turbopackIgnore: true*/ process.env.SANDBOX_CONSOLE_AUDIT_WITNESS ?? path.join(dataDir(), "audit-witness.jsonl"),
  );
}

/** The head last recorded in each file, so an unchanged head adds no line. */
const lastHeads = new Map<string, string>();

async function appendEntry(file: string, entry: WitnessEntry): Promise<void> {
  await appendFile(/*turbopackIgnore: true*/ file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  // The log line is a second copy, for installations that ship logs away.
  witnessLog.info({ file, ...entry }, "audit chain witness recorded");
}

/**
 * Appends the chain's newest row to the witness file, unless it is the row
 * this process recorded last. Returns the entry written, or null.
 */
export async function recordHeadWitness(db: Db, file = auditWitnessPath()): Promise<WitnessEntry | null> {
  const head = await readChainHead(db);
  if (!head) return null;

  const key = `${head.id}:${head.hash}`;
  if (lastHeads.get(file) === key) return null;

  const entry: WitnessEntry = { kind: "head", id: head.id, hash: head.hash, recordedAt: new Date().toISOString() };
  await appendEntry(file, entry);
  lastHeads.set(file, key);
  return entry;
}

/** Appends a prune's outcome row to the witness file. */
export async function recordPruneWitness(
  record: { id: number; hash: string },
  file = auditWitnessPath(),
): Promise<WitnessEntry> {
  const entry: WitnessEntry = { kind: "prune", id: record.id, hash: record.hash, recordedAt: new Date().toISOString() };
  await appendEntry(file, entry);
  return entry;
}

/**
 * Records the chain's newest row now and every `intervalMs`. Returns a
 * function that stops the timer and records the head one last time.
 */
export function startAuditWitness(db: Db, options: { file?: string; intervalMs?: number } = {}): () => Promise<void> {
  const file = options.file ?? auditWitnessPath();
  const record = () =>
    recordHeadWitness(db, file).catch((error: unknown) => {
      witnessLog.error({ err: error, file }, "recording the audit chain witness failed");
    });

  void record();
  const timer = setInterval(() => void record(), options.intervalMs ?? WITNESS_INTERVAL_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await record();
  };
}

function parseEntry(line: string): WitnessEntry | null {
  try {
    const value = JSON.parse(line) as Partial<WitnessEntry>;
    const valid =
      (value.kind === "head" || value.kind === "prune") &&
      Number.isSafeInteger(value.id) &&
      typeof value.hash === "string" &&
      typeof value.recordedAt === "string";
    return valid ? (value as WitnessEntry) : null;
  } catch {
    return null;
  }
}

/** Reads the witness file; a missing file has no entries. */
export async function readWitnesses(file = auditWitnessPath()): Promise<{ entries: WitnessEntry[]; invalidLines: number }> {
  let text: string;
  try {
    text = await readFile(/*turbopackIgnore: true*/ file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], invalidLines: 0 };
    throw error;
  }

  const entries: WitnessEntry[] = [];
  let invalidLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
    else invalidLines += 1;
  }
  return { entries, invalidLines };
}

async function readHashes(db: Db, ids: number[]): Promise<Map<number, string>> {
  const hashes = new Map<number, string>();
  for (let start = 0; start < ids.length; start += LOOKUP_BATCH) {
    const rows = await db
      .select({ id: auditEvents.id, hash: auditEvents.hash })
      .from(auditEvents)
      .where(inArray(auditEvents.id, ids.slice(start, start + LOOKUP_BATCH)));
    for (const row of rows) hashes.set(Number(row.id), row.hash);
  }
  return hashes;
}

/**
 * Checks the database against the witness file: every recorded row must
 * still exist with the same hash, unless a witnessed prune removed it, and
 * every prune made after the first witness line must be witnessed.
 */
export async function checkWitnesses(db: Db, file = auditWitnessPath()): Promise<WitnessReport> {
  const { entries, invalidLines } = await readWitnesses(file);
  const report: WitnessReport = {
    file,
    entries: entries.length,
    invalidLines,
    firstRecordedAt: entries[0]?.recordedAt ?? null,
    lastRecordedAt: entries.at(-1)?.recordedAt ?? null,
    problems: [],
  };
  if (entries.length === 0) return report;

  const [bounds] = await queryRows<{ max_id: string | number | null }>(
    db,
    sql`select max(id) as max_id from audit_events`,
  );
  const newestId = bounds?.max_id === null || bounds?.max_id === undefined ? null : Number(bounds.max_id);

  // Prunes the console made and wrote down. Rows up to the last one each of
  // them removed may be gone.
  const witnessedPrunes = new Map(entries.filter((entry) => entry.kind === "prune").map((entry) => [entry.id, entry]));
  const pruneRows = await db
    .select({ id: auditEvents.id, hash: auditEvents.hash, lastRemovedId: sql<string | null>`${auditEvents.params}->>'lastRemovedId'` })
    .from(auditEvents)
    .where(and(eq(auditEvents.action, PRUNE_ACTION), eq(auditEvents.phase, "outcome"), eq(auditEvents.result, "success")));

  const firstWitnessedId = Math.min(...entries.map((entry) => entry.id));
  let prunedThrough = 0;
  for (const row of pruneRows) {
    const id = Number(row.id);
    const witnessed = witnessedPrunes.get(id);
    if (witnessed && witnessed.hash === row.hash) {
      prunedThrough = Math.max(prunedThrough, Number(row.lastRemovedId ?? 0) || 0);
    } else if (id > firstWitnessedId) {
      report.problems.push({
        kind: "unwitnessed_prune",
        id,
        recordedAt: null,
        message:
          `Row ${id} is a prune record that this console did not write down when it pruned, ` +
          "so it may have been added directly to the table to hide removed rows.",
      });
    }
  }

  const checked = entries.filter((entry) => entry.id > prunedThrough);
  const hashes = await readHashes(db, [...new Set(checked.map((entry) => entry.id))]);
  const reported = new Set<number>();
  for (const entry of checked) {
    if (reported.has(entry.id)) continue;
    const hash = hashes.get(entry.id);
    if (hash === entry.hash) continue;

    reported.add(entry.id);
    const seen = `Row ${entry.id}, seen by the console at ${entry.recordedAt}`;
    if (hash !== undefined) {
      report.problems.push({
        kind: "row_rewritten",
        id: entry.id,
        recordedAt: entry.recordedAt,
        message: `${seen}, now has another hash: it or an earlier row was changed, and the hashes from there on were recomputed.`,
      });
    } else if (newestId === null || entry.id > newestId) {
      report.problems.push({
        kind: "tail_removed",
        id: entry.id,
        recordedAt: entry.recordedAt,
        message:
          `${seen}, is gone, and the log now ends at ${newestId === null ? "no row" : `row ${newestId}`}: ` +
          "rows were removed from its end.",
      });
    } else {
      report.problems.push({
        kind: "row_missing",
        id: entry.id,
        recordedAt: entry.recordedAt,
        message: `${seen}, is gone, and no prune that the console recorded removed it.`,
      });
    }
  }

  report.problems.sort((a, b) => a.id - b.id);
  return report;
}
