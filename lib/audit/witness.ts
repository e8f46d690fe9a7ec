import type { Stats } from "node:fs";
import { appendFile, open, readFile, stat } from "node:fs/promises";
import path from "node:path";

import { and, eq, inArray, sql } from "drizzle-orm";

import { dataDir, queryRows, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { formatTime } from "@/lib/format";
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

/** How often the console tries while the witness file has no line from it yet. */
const FIRST_WITNESS_INTERVAL_MS = 5_000;

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
  /** Whether the file exists. */
  exists: boolean;
  /** Valid lines read. */
  entries: number;
  /** Distinct rows that the valid lines name. */
  witnessedRows: number;
  /** Lines that could not be parsed. Each one is a problem in itself. */
  invalidLines: number;
  firstRecordedAt: string | null;
  lastRecordedAt: string | null;
  /** Rows in the log older than the first witnessed row, which only the chain covers. */
  rowsBeforeWitness: number;
  /** The last failed write of this process to the file, if it has not written since. */
  writeError: string | null;
  /** In id order; empty when the database agrees with every line. */
  problems: WitnessProblem[];
}

/**
 * Returns the witness file's path: SANDBOX_CONSOLE_AUDIT_WITNESS, or
 * `audit-witness.jsonl` in the data folder. It should sit where database
 * users cannot write, and ideally on another machine's disk or backup.
 */
export function auditWitnessPath(): string {
  const configured = process.env.SANDBOX_CONSOLE_AUDIT_WITNESS?.trim();
  return path.resolve(
    /*turbopackIgnore: true*/ configured ? configured : path.join(dataDir(), "audit-witness.jsonl"),
  );
}

interface WitnessState {
  /** The head last recorded in each file, so an unchanged head adds no line. */
  lastHeads: Map<string, string>;
  /** Files this process wrote to, which it must not find missing later. */
  written: Set<string>;
  /** The last failed write to each file, until a write succeeds. */
  writeErrors: Map<string, string>;
}

// The custom server and Next's bundle each load this module, and both write
// to the file, so they share one state through globalThis.
const globalState = globalThis as typeof globalThis & { __sandboxConsoleWitness?: WitnessState };
const state: WitnessState = (globalState.__sandboxConsoleWitness ??= {
  lastHeads: new Map(),
  written: new Set(),
  writeErrors: new Map(),
});

/**
 * Returns whether `file` exists, and throws when it is not a regular file:
 * reading a folder fails, and opening a FIFO would block until a writer
 * comes, so neither is opened.
 */
async function witnessFileExists(file: string): Promise<boolean> {
  let info: Stats;
  try {
    info = await stat(/*turbopackIgnore: true*/ file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  if (!info.isFile()) {
    throw new ConsoleError(
      "invalid_input",
      `The audit witness path ${file} is not a regular file. Set SANDBOX_CONSOLE_AUDIT_WITNESS to a file ` +
        "path (its folder must exist), or unset it to use audit-witness.jsonl in the data folder.",
    );
  }
  return true;
}

/** Returns whether the file's last byte is a newline; an empty file counts as one. */
async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await open(/*turbopackIgnore: true*/ file, "r");
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

async function appendEntry(file: string, entry: WitnessEntry): Promise<void> {
  try {
    const exists = await witnessFileExists(file);
    if (!exists && state.written.has(file)) {
      throw new ConsoleError(
        "conflict",
        `The audit witness file ${file} was removed after this console wrote to it, so it is not created ` +
          "again: a new file would vouch for whatever the log holds now. Restore it from a backup, " +
          "or move it aside on purpose and restart the console to start a new one.",
      );
    }
    // A line cut off by a crash is ended first, so that it does not swallow this one.
    const prefix = exists && !(await endsWithNewline(file)) ? "\n" : "";
    await appendFile(/*turbopackIgnore: true*/ file, `${prefix}${JSON.stringify(entry)}\n`, { mode: 0o600 });
  } catch (error) {
    const message = describeWriteError(file, error);
    state.writeErrors.set(file, message);
    throw error instanceof ConsoleError ? error : new ConsoleError("internal", message, { cause: error });
  }
  state.written.add(file);
  state.writeErrors.delete(file);
  // The log line is a second copy, for installations that ship logs away.
  witnessLog.info({ file, ...entry }, "audit chain witness recorded");
}

function describeWriteError(file: string, error: unknown): string {
  if (error instanceof ConsoleError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `The folder of ${file} does not exist. Create it, or set SANDBOX_CONSOLE_AUDIT_WITNESS to a file in an existing folder.`;
  if (code === "EACCES" || code === "EPERM") return `The console may not write ${file}. Give its user write access to the file and its folder.`;
  return `Writing ${file} failed: ${error instanceof Error ? error.message : String(error)}.`;
}

/**
 * Appends the chain's newest row to the witness file, unless this process
 * recorded that row there last. With `createFile` false, a missing file is left
 * missing. Returns the entry written, or null.
 */
export async function recordHeadWitness(
  db: Db,
  file = auditWitnessPath(),
  options: { createFile?: boolean } = {},
): Promise<WitnessEntry | null> {
  const head = await readChainHead(db);
  if (!head) return null;
  if (options.createFile === false && !(await witnessFileExists(file))) return null;

  const key = `${head.id}:${head.hash}`;
  if (state.lastHeads.get(file) === key) return null;

  const entry: WitnessEntry = { kind: "head", id: head.id, hash: head.hash, recordedAt: new Date().toISOString() };
  await appendEntry(file, entry);
  state.lastHeads.set(file, key);
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
 * Records the chain's newest row now and every `intervalMs`. Until the file
 * has its first line, for example while the log is empty, it tries every
 * `firstIntervalMs`, so a new console is witnessed soon after its first
 * rows. Returns a function that stops the timer and records the head one
 * last time.
 */
export function startAuditWitness(
  db: Db,
  options: { file?: string; intervalMs?: number; firstIntervalMs?: number } = {},
): () => Promise<void> {
  const file = options.file ?? auditWitnessPath();
  const intervalMs = options.intervalMs ?? WITNESS_INTERVAL_MS;
  const firstIntervalMs = Math.min(options.firstIntervalMs ?? FIRST_WITNESS_INTERVAL_MS, intervalMs);
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const record = () =>
    recordHeadWitness(db, file).catch((error: unknown) => {
      witnessLog.error({ err: error, file }, "recording the audit chain witness failed");
    });
  const scheduleNext = () => {
    if (stopped) return;
    timer = setTimeout(
      () => void record().then(scheduleNext),
      state.written.has(file) ? intervalMs : firstIntervalMs,
    );
    timer.unref();
  };

  void record().then(scheduleNext);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
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
export async function readWitnesses(
  file = auditWitnessPath(),
): Promise<{ exists: boolean; entries: WitnessEntry[]; invalidLines: number }> {
  if (!(await witnessFileExists(file))) return { exists: false, entries: [], invalidLines: 0 };
  const text = await readFile(/*turbopackIgnore: true*/ file, "utf8");

  const entries: WitnessEntry[] = [];
  let invalidLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
    else invalidLines += 1;
  }
  return { exists: true, entries, invalidLines };
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
  const { exists, entries, invalidLines } = await readWitnesses(file);
  let firstWitnessedId = Number.POSITIVE_INFINITY;
  for (const entry of entries) firstWitnessedId = Math.min(firstWitnessedId, entry.id);

  // Without entries every row is older than the witness.
  const witnessStart = Number.isFinite(firstWitnessedId) ? firstWitnessedId : Number.MAX_SAFE_INTEGER;
  const [bounds] = await queryRows<{ max_id: string | number | null; older: string | number }>(
    db,
    sql`select max(id) as max_id, count(*) filter (where id < ${witnessStart}) as older from audit_events`,
  );
  const newestId = bounds?.max_id === null || bounds?.max_id === undefined ? null : Number(bounds.max_id);

  const report: WitnessReport = {
    file,
    exists,
    entries: entries.length,
    witnessedRows: new Set(entries.map((entry) => entry.id)).size,
    invalidLines,
    firstRecordedAt: entries[0]?.recordedAt ?? null,
    lastRecordedAt: entries.at(-1)?.recordedAt ?? null,
    rowsBeforeWitness: Number(bounds?.older ?? 0),
    writeError: state.writeErrors.get(file) ?? null,
    problems: [],
  };
  if (entries.length === 0) return report;

  // Prunes the console made and wrote down. Rows up to the last one each of
  // them removed may be gone.
  const witnessedPrunes = new Map(entries.filter((entry) => entry.kind === "prune").map((entry) => [entry.id, entry]));
  const pruneRows = await db
    .select({ id: auditEvents.id, hash: auditEvents.hash, lastRemovedId: sql<string | null>`${auditEvents.params}->>'lastRemovedId'` })
    .from(auditEvents)
    .where(and(eq(auditEvents.action, PRUNE_ACTION), eq(auditEvents.phase, "outcome"), eq(auditEvents.result, "success")));

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
          `Row ${id} is a prune record missing from the witness file, so it may have been added to the ` +
          "table directly to hide removed rows. If an admin pruned from a shell with another witness " +
          `file, append that prune's line (logged as "audit chain witness recorded") to ${file}.`,
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
    const seen = `Row ${entry.id}, seen by the console at ${formatTime(entry.recordedAt)} UTC`;
    if (hash !== undefined) {
      report.problems.push({
        kind: "row_rewritten",
        id: entry.id,
        recordedAt: entry.recordedAt,
        message:
          `${seen}, now has another hash. Either it or an earlier row was changed and the hashes after ` +
          "it recomputed, or rows were cut from the end and new rows took their ids.",
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
