// Audit log: append throughput, filtered queries over a large log, and chain
// verification time.
//
//   npx tsx bench/audit.ts --database postgres://postgres@127.0.0.1:5432/DB
//       [--appends 5000] [--writers 1,8,32,64] [--pools 8] [--rows 1000000]
//       [--rounds 20]
//
// EMPTIES audit_events in the named local database, so give it a database of
// its own. Steps:
//  1. appends --appends rows through recordAuditEvent with --pools writers
//     that each have a pool (as separate processes would), then with each
//     count in --writers sharing one pool (as the actions of one console
//     process do). Each case runs first with the previous append
//     (bench/audit-baseline.ts) on an empty table, then with the current one;
//  2. fills the log up to --rows rows with a bulk COPY whose hashes continue
//     the chain (computed in this process with computeAuditHash);
//  3. runs each filter of the audit page --rounds times through
//     listAuditEvents (100 rows, the page size) and reports p50/p95/max;
//  4. verifies the whole chain with the previous verification, then with
//     inspectAuditChain.
// It prints each figure next to its target, and the current code's figures
// as ratios to the previous code's, measured in the same run.

import { loadavg } from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";

import { sql } from "drizzle-orm";
import postgres from "postgres";

import { loadAuditActivity } from "@/lib/audit/activity";
import { listAuditEvents, recordAuditEvent, type AuditEventInput } from "@/lib/audit/audit";
import { auditRowValues, csvColumns } from "@/lib/audit/export";
import type { AuditFilters } from "@/lib/audit/filters";
import { computeAuditHash, inspectAuditChain, type HashedAuditFields } from "@/lib/audit/hash";
import { closeDb, createDb, queryRows, type Db } from "@/lib/db/client";
import { migrateDb } from "@/lib/db/migrate";

import { appendBaseline, verifyBaseline } from "./audit-baseline";

const TARGETS = {
  appendRowsPerSecond: 2000,
  queryP95Ms: 50,
  verifySeconds: 10,
};

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const COPY_CHUNK_ROWS = 5000;
const DAY_MS = 86_400_000;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      database: { type: "string" },
      appends: { type: "string", default: "5000" },
      writers: { type: "string", default: "1,8,32,64" },
      pools: { type: "string", default: "8" },
      rows: { type: "string", default: "1000000" },
      rounds: { type: "string", default: "20" },
    },
  });
  if (!values.database) {
    throw new Error(
      "Missing --database: name a local Postgres database of the bench's own, " +
        "such as postgres://postgres@127.0.0.1:5432/audit_bench. Its audit_events table is emptied.",
    );
  }
  const { hostname } = new URL(values.database);
  if (!LOCAL_HOSTS.has(hostname)) {
    throw new Error(`Refusing to empty audit_events on ${hostname}: use a database on this machine.`);
  }

  const count = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`--${name} ${text} is invalid: expected a whole number of at least 1.`);
    }
    return value;
  };
  return {
    database: values.database,
    appends: count("appends", values.appends),
    writers: values.writers.split(",").map((text) => count("writers", text.trim())),
    pools: count("pools", values.pools),
    rows: count("rows", values.rows),
    rounds: count("rounds", values.rounds),
  };
}

function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(index, 0)]!;
}

/** Formats the 1, 5 and 15 minute load averages, which the figures move with. */
function loadText(): string {
  return `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")}`;
}

function verdict(met: boolean): string {
  return met ? "met" : "MISSED";
}

// Step 1 ---------------------------------------------------------------------

type AppendFunction = (db: Db, event: AuditEventInput) => Promise<unknown>;

async function appendRows(append: AppendFunction, db: Db, writer: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await append(db, {
      actor: { id: `bench-user-${writer}`, email: `writer-${writer}@bench.localhost` },
      sourceAddress: "127.0.0.1",
      action: "instance.start",
      host: "local",
      project: "default",
      instance: `bench-${writer}`,
      params: { writer, i },
      result: "success",
    });
  }
}

/**
 * Appends `total` rows with `writers` concurrent writers and returns rows per
 * second. With `shared`, the writers use one pool, as the actions of one
 * console process do, so their appends can share transactions. Otherwise
 * each has its own pool, as separate processes would.
 */
async function measureAppends(
  append: AppendFunction,
  url: string,
  total: number,
  writers: number,
  shared: boolean,
): Promise<number> {
  const connections = Array.from({ length: shared ? 1 : writers }, () => createDb(url));
  const perWriter = Math.ceil(total / writers);

  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, (_, writer) =>
        appendRows(append, connections[shared ? 0 : writer]!, writer, perWriter),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    return (perWriter * writers) / seconds;
  } finally {
    await Promise.all(connections.map((db) => closeDb(db)));
  }
}

// Step 2 ---------------------------------------------------------------------

const actions = [
  "instance.start",
  "instance.stop",
  "instance.restart",
  "instance.config.update",
  "instance.snapshot",
  "instance.delete",
  "vnc.view.open",
  "vnc.view.close",
  "vnc.control.take",
  "vnc.control.release",
  "lxd.instance-started",
  "lxd.instance-stopped",
  "lxd.instance-updated",
  "auth.sign_in",
];
const errorTexts = [
  "Operation timed out after 30 s",
  "Instance is already running",
  "Permission denied for role support",
  "Storage pool is full",
];

/**
 * Builds row `id` of the synthetic log. The values come from the id alone,
 * so every run fills the same log: 200 users and 20 LXD requestors, 3 hosts,
 * 2 projects and 5,000 instances, spread over the 90 days before `end`.
 */
function syntheticRow(id: number, total: number, end: number, prevHash: string | null): HashedAuditFields {
  const action = actions[id % actions.length]!;
  const fromLxd = action.startsWith("lxd.");
  const instance = `sandbox-${(id * 7919) % 5000}`;
  const failed = id % 23 === 0;
  const refused = !failed && id % 41 === 0;
  let result: HashedAuditFields["result"] = "success";
  if (failed) result = "failure";
  if (refused) result = "refused";

  return {
    id,
    at: new Date(end - 90 * DAY_MS + Math.floor((id / total) * 90 * DAY_MS)),
    correlationId: null,
    phase: fromLxd ? "event" : "outcome",
    actorId: fromLxd ? null : `user-${id % 200}`,
    actor: fromLxd ? `lxd:requestor-${id % 20}` : `user-${id % 200}@example.com`,
    sourceAddress: fromLxd ? null : `10.0.${id % 7}.${id % 250}`,
    action,
    host: `host-${id % 3}`,
    project: id % 5 === 0 ? "lab" : "default",
    instance: action === "auth.sign_in" ? null : instance,
    params:
      action === "instance.config.update"
        ? { before: { "limits.cpu": "1" }, after: { "limits.cpu": String(2 + (id % 3)) } }
        : { name: instance, request: `req-${id}` },
    result,
    error: failed || refused ? errorTexts[id % errorTexts.length]! : null,
    operationId: fromLxd || action.startsWith("instance.") ? `op-${id}` : null,
    durationMs: fromLxd ? null : id % 2000,
    prevHash,
  };
}

// COPY's text format: tab-separated, \N for null, backslash escapes.
function copyValue(value: string | number | null): string {
  if (value === null) return "\\N";
  return String(value).replace(/[\\\t\n\r]/g, (char) => {
    if (char === "\t") return "\\t";
    if (char === "\n") return "\\n";
    if (char === "\r") return "\\r";
    return "\\\\";
  });
}

function copyLine(row: HashedAuditFields, hash: string): string {
  return `${auditRowValues({ ...row, hash }).map(copyValue).join("\t")}\n`;
}

async function bulkFill(url: string, db: Db, target: number): Promise<number> {
  const [last] = await queryRows<{ id: string | number; hash: string; at: string | Date }>(
    db,
    sql`select id, hash, at from audit_events order by id desc limit 1`,
  );
  const firstId = last ? Number(last.id) + 1 : 1;
  if (firstId > target) return 0;

  // The synthetic rows take the 90 days before the appended ones, so time
  // order follows id order as it does in a real log.
  const end = last ? new Date(last.at).getTime() - 1000 : Date.now();
  let prevHash = last?.hash ?? null;
  let id = firstId;

  function* chunks() {
    while (id <= target) {
      let text = "";
      for (let n = 0; n < COPY_CHUNK_ROWS && id <= target; n++, id++) {
        const row = syntheticRow(id, target, end, prevHash);
        const hash = computeAuditHash(row);
        text += copyLine(row, hash);
        prevHash = hash;
      }
      yield text;
    }
  }

  const client = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const writable = await client`copy audit_events (${client.unsafe(csvColumns.join(", "))}) from stdin`.writable();
    await pipeline(Readable.from(chunks()), writable);
    await client`select setval(pg_get_serial_sequence('audit_events', 'id'), ${target})`;
    await client`analyze audit_events`;
  } finally {
    await client.end();
  }
  return target - firstId + 1;
}

// Step 3 ---------------------------------------------------------------------

function benchFilters(total: number, now: Date): [string, AuditFilters, { beforeId?: number }][] {
  const day = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY_MS);
  return [
    ["no filter, newest page", {}, {}],
    ["no filter, page in the middle", {}, { beforeId: Math.floor(total / 2) }],
    ["actor (one of 200 users)", { actor: "user-17@example.com" }, {}],
    ["actor, LXD requestor", { actor: "lxd:requestor-3" }, {}],
    ["action prefix vnc.", { action: "vnc." }, {}],
    ["action prefix, deep page", { action: "vnc.control." }, { beforeId: Math.floor(total / 3) }],
    ["result refused", { result: "refused" }, {}],
    ["host + project + instance", { host: "host-1", project: "default", instance: "sandbox-4321" }, {}],
    ["instance only", { instance: "sandbox-17" }, {}],
    ["search error words", { q: "timed out" }, {}],
    ["search a rare params value", { q: "req-123457" }, {}],
    ["time range of one day", { from: day(45), to: day(44) }, {}],
    ["actor + action + last 30 days", { actor: "user-42@example.com", action: "instance.", from: day(30) }, {}],
    ["search + result + time range", { q: "storage", result: "failure", from: day(60), to: day(10) }, {}],
  ];
}

async function measureQueries(db: Db, total: number, rounds: number) {
  const now = new Date();
  const cases = benchFilters(total, now);
  const all: number[] = [];
  const rows: { name: string; matched: number; p50: number; p95: number; max: number }[] = [];

  for (const [name, filters, position] of cases) {
    const times: number[] = [];
    let matched = 0;

    // One warm-up query so the first round does not pay for cold plans.
    await listAuditEvents(db, { limit: 100, filters, ...position });
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      const result = await listAuditEvents(db, { limit: 100, filters, ...position });
      times.push(performance.now() - started);
      matched = result.length;
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    rows.push({ name, matched, p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: times.at(-1)! });
  }

  all.sort((a, b) => a - b);
  return { rows, p95: percentile(all, 0.95), p50: percentile(all, 0.5) };
}

async function measureActivity(db: Db): Promise<{ name: string; ms: number }[]> {
  const results: { name: string; ms: number }[] = [];
  const cases: [string, AuditFilters][] = [
    ["no filter, last 7 days (per day)", {}],
    ["action vnc., last 7 days", { action: "vnc." }],
    ["no filter, last 90 days (per day)", { from: new Date(Date.now() - 90 * DAY_MS) }],
  ];
  for (const [name, filters] of cases) {
    const started = performance.now();
    await loadAuditActivity(db, filters);
    results.push({ name, ms: performance.now() - started });
  }
  return results;
}

// Main -----------------------------------------------------------------------

async function main() {
  const options = parseOptions();
  const db = createDb(options.database);

  try {
    await migrateDb(db);
    const [version] = await queryRows<{ server_version: string }>(db, sql`show server_version`);
    console.log(`Postgres ${version?.server_version}, database ${new URL(options.database).pathname.slice(1)}`);
    await db.execute(sql`truncate audit_events restart identity`);

    console.log(`\n1. Append through recordAuditEvent (${options.appends} rows per run), ${loadText()}`);
    // The previous append draws ids from the sequence and the current one
    // takes the id after the newest row, so each run starts on an empty table.
    const appendCase = async (writers: number, shared: boolean) => {
      await db.execute(sql`truncate audit_events restart identity`);
      const baseline = await measureAppends(appendBaseline, options.database, options.appends, writers, shared);
      await db.execute(sql`truncate audit_events restart identity`);
      const current = await measureAppends(recordAuditEvent, options.database, options.appends, writers, shared);
      return { baseline, current };
    };
    const printAppends = (name: string, rates: { baseline: number; current: number }) =>
      console.log(
        `   ${name.padEnd(30)} ${rates.current.toFixed(0).padStart(6)} rows/s, ` +
          `previous ${rates.baseline.toFixed(0).padStart(6)} rows/s, ratio ${(rates.current / rates.baseline).toFixed(2)}`,
      );
    const appendCases: { name: string; rates: { baseline: number; current: number } }[] = [];
    const runAppendCase = async (name: string, writers: number, shared: boolean) => {
      const rates = await appendCase(writers, shared);
      printAppends(`${name}:`, rates);
      appendCases.push({ name, rates });
    };
    await runAppendCase(`${options.pools} writers, a pool each`, options.pools, false);
    for (const writers of options.writers) {
      await runAppendCase(writers === 1 ? "1 writer" : `${writers} writers sharing one pool`, writers, true);
    }

    console.log(`\n2. Bulk fill to ${options.rows} rows (COPY, hashes chained in this process), ${loadText()}`);
    let started = performance.now();
    const added = await bulkFill(options.database, db, options.rows);
    console.log(`   added ${added} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    console.log(`\n3. Filtered queries, 100 rows each, ${options.rounds} rounds, ${loadText()}`);
    const queries = await measureQueries(db, options.rows, options.rounds);
    for (const row of queries.rows) {
      console.log(
        `   ${row.name.padEnd(34)} rows ${String(row.matched).padStart(3)}  p50 ${row.p50.toFixed(1).padStart(6)} ms  p95 ${row.p95.toFixed(1).padStart(6)} ms  max ${row.max.toFixed(1).padStart(6)} ms`,
      );
    }
    console.log(`   all queries: p50 ${queries.p50.toFixed(1)} ms, p95 ${queries.p95.toFixed(1)} ms`);
    for (const chart of await measureActivity(db)) {
      console.log(`   activity chart, ${chart.name}: ${chart.ms.toFixed(0)} ms`);
    }

    console.log(`\n4. Verify the chain, ${loadText()}`);
    started = performance.now();
    const baselineReport = await verifyBaseline(db);
    const baselineSeconds = (performance.now() - started) / 1000;
    console.log(
      `   previous: ${baselineReport.rows} rows in ${baselineSeconds.toFixed(1)} s, ` +
        (baselineReport.brokenId === null ? "intact" : `BROKEN at row ${baselineReport.brokenId}`),
    );
    started = performance.now();
    const singleReport = await inspectAuditChain(db, { threads: 1 });
    const singleSeconds = (performance.now() - started) / 1000;
    console.log(
      `   current, one thread: ${singleReport.checkedRows} rows in ${singleSeconds.toFixed(1)} s, ` +
        (singleReport.firstBroken ? `BROKEN at row ${singleReport.firstBroken.id}` : "intact") +
        `, time ratio ${(singleSeconds / baselineSeconds).toFixed(2)}`,
    );
    started = performance.now();
    const report = await inspectAuditChain(db);
    const verifySeconds = (performance.now() - started) / 1000;
    console.log(
      `   current:  ${report.checkedRows} rows in ${verifySeconds.toFixed(1)} s, ` +
        (report.firstBroken ? `BROKEN at row ${report.firstBroken.id} (${report.firstBroken.reason})` : "intact") +
        `, time ratio ${(verifySeconds / baselineSeconds).toFixed(2)}, ${loadText()}`,
    );

    console.log("\nTargets");
    for (const { name, rates } of appendCases) {
      console.log(
        `   append >= ${TARGETS.appendRowsPerSecond} rows/s, ${name}: ${rates.current.toFixed(0)} rows/s, ${verdict(rates.current >= TARGETS.appendRowsPerSecond)}`,
      );
    }
    console.log(
      `   filtered query p95 < ${TARGETS.queryP95Ms} ms: ${queries.p95.toFixed(1)} ms, ${verdict(queries.p95 < TARGETS.queryP95Ms)}`,
    );
    console.log(
      `   verify < ${TARGETS.verifySeconds} s: ${verifySeconds.toFixed(1)} s, ${verdict(verifySeconds < TARGETS.verifySeconds && !report.firstBroken)}`,
    );
  } finally {
    await closeDb(db);
  }
}

await main();
