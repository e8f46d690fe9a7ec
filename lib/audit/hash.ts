import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { sql } from "drizzle-orm";
import { postgresUrl, queryRows, type Db } from "@/lib/db/client";
import { log } from "@/lib/log";

import {
  CHAIN_COLUMNS,
  walkChainRange,
  type ChainBreak,
  type RangeWalk,
  type RawChainRow,
} from "./chain-hash.mjs";
import { PRUNE_ACTION } from "./prune-record";

export { canonicalJson, computeAuditHash, type ChainBreak, type HashedAuditFields } from "./chain-hash.mjs";
export { PRUNE_ACTION } from "./prune-record";

const VERIFY_BATCH_SIZE = 5000;

/** Worker threads at most, one id range each. */
const MAX_VERIFY_THREADS = 4;

/** Logs with fewer rows per thread than this are walked on one thread. */
const MIN_ROWS_PER_THREAD = 50_000;

const CHAIN_WORKER_FILE = "chain-worker.mjs";

/**
 * The point where pruning cut the chain, from the newest successful prune
 * record that removed rows. The first remaining row must link to
 * `lastRemovedHash`.
 */
export interface PruneAnchor {
  /** Id of the prune record, which is itself a row of the chain. */
  recordId: number;
  lastRemovedId: number;
  lastRemovedHash: string;
}

/** The outcome of walking the whole audit chain. */
export interface ChainReport {
  /** Rows read, up to and including the first broken one. */
  checkedRows: number;
  /** Id of the last row read, or null for an empty log. */
  lastId: number | null;
  /** The first row that does not fit the chain, or null when it is intact. */
  firstBroken: { id: number; reason: ChainBreak } | null;
  /** The prune the first row was checked against, or null if none removed rows. */
  anchor: PruneAnchor | null;
}

/** Options for how inspectAuditChain splits the walk. The defaults suit the console. */
export interface ChainInspectOptions {
  /**
   * Worker threads to use, each walking an id range: 1 walks on the calling
   * thread. By default one per core, up to 4, and one for logs too small
   * to gain from threads or stored in PGlite, which a worker cannot open.
   */
  threads?: number;
  /** The worker script; by default chain-worker.mjs, found as described there. */
  workerFile?: string | null;
}

/**
 * Walks the audit log in id order and reports the first row whose hash does
 * not match its fields ("hash_mismatch") or whose prev_hash does not match
 * the row before it ("prev_hash_mismatch"). The first row must link to the
 * last row removed by the newest prune, or have no prev_hash when no prune
 * removed rows, so rows deleted from the start outside pruning show up too.
 *
 * On Postgres the id range is split between worker threads, each reading
 * and hashing its part over its own connection, and the links between the
 * parts are checked here. If a worker cannot start, for example because its
 * file is missing from a build, the walk runs on this thread instead, and the
 * report is the same either way. The threads walk the rows that existed
 * when the walk began.
 *
 * A chain cannot show that rows were removed from its end, for example by
 * TRUNCATE. Nor can it tell a genuine prune record from one appended at the
 * end by someone who can write the table directly, since the hash has no
 * secret. checkWitnesses in witness.ts covers both with rows written to a
 * file outside the database.
 *
 * NOTE: Node spends about 12 s of CPU on 1,000,000 rows, 45% reading rows
 * and 55% hashing. Two threads took 6.9 s on an idle 2-core machine, but
 * gained nothing while other work kept both cores busy (bench/audit.ts).
 */
export async function inspectAuditChain(db: Db, options: ChainInspectOptions = {}): Promise<ChainReport> {
  const anchor = await readPruneAnchor(db);
  const ranges = await planRanges(db, options.threads);
  const url = postgresUrl(db);
  const workerFile = options.workerFile === undefined ? findChainWorker() : options.workerFile;

  if (ranges.length > 1 && url && !workerFile) {
    log.warn({ file: CHAIN_WORKER_FILE }, "audit chain worker file not found; verifying on one thread");
  } else if (ranges.length > 1 && url && workerFile) {
    try {
      const walks = await Promise.all(ranges.map((range) => walkInWorker(workerFile, url, range)));
      return joinRanges(walks, anchor);
    } catch (error) {
      log.warn({ err: error, workerFile }, "audit chain worker failed; verifying on one thread");
    }
  }

  const walk = await walkChainRange(
    (afterId) => readChainBatch(db, afterId, Number.MAX_SAFE_INTEGER),
    0,
    VERIFY_BATCH_SIZE,
  );
  return joinRanges([walk], anchor);
}

interface IdRange {
  /** The range starts after this id... */
  afterId: number;
  /** ...up to and including this one. */
  lastId: number;
}

/**
 * Splits the ids from the oldest to the newest row into one range per
 * thread, or returns a single range when one thread is enough.
 */
async function planRanges(db: Db, threads: number | undefined): Promise<IdRange[]> {
  const [bounds] = await queryRows<{ min_id: string | number | null; max_id: string | number | null }>(
    db,
    sql`select min(id) as min_id, max(id) as max_id from audit_events`,
  );
  if (bounds?.min_id === null || bounds?.max_id === null || !bounds) return [];
  const first = Number(bounds.min_id);
  const last = Number(bounds.max_id);
  const span = last - first + 1;

  const count =
    threads ?? Math.min(MAX_VERIFY_THREADS, availableParallelism(), Math.floor(span / MIN_ROWS_PER_THREAD));
  const parts = Math.max(1, Math.min(count, span));
  const ranges: IdRange[] = [];
  let afterId = first - 1;
  for (let part = 1; part <= parts; part++) {
    const lastId = part === parts ? last : first - 1 + Math.floor((span * part) / parts);
    ranges.push({ afterId, lastId });
    afterId = lastId;
  }
  return ranges;
}

/**
 * Joins the walks of consecutive id ranges into one report: each range's
 * first row must link to the row before it, the very first one to the prune
 * anchor, and the earliest break wins.
 */
function joinRanges(walks: RangeWalk[], anchor: PruneAnchor | null): ChainReport {
  let previousHash: string | null = anchor?.lastRemovedHash ?? null;
  let checkedRows = 0;
  let lastId: number | null = null;

  for (const walk of walks) {
    if (!walk.first) continue;
    const first = walk.first;
    const isOldest = checkedRows === 0;
    // A row that the prune removed cannot come back.
    if (first.prevHash !== previousHash || (isOldest && anchor && first.id <= anchor.lastRemovedId)) {
      return { checkedRows: checkedRows + 1, lastId: first.id, firstBroken: { id: first.id, reason: "prev_hash_mismatch" }, anchor };
    }

    checkedRows += walk.rows;
    lastId = walk.lastId;
    if (walk.broken) return { checkedRows, lastId, firstBroken: walk.broken, anchor };
    previousHash = walk.lastHash;
  }
  return { checkedRows, lastId, firstBroken: null, anchor };
}

/**
 * Returns the worker script: beside this module when it runs from source
 * (tsx, Vitest), else under the working folder, where the production
 * server runs from the checkout. Null when neither exists.
 */
function findChainWorker(): string | null {
  const candidates: string[] = [];
  try {
    const url = new URL(/* webpackIgnore: true */ /* turbopackIgnore: true */ CHAIN_WORKER_FILE, import.meta.url);
    if (url.protocol === "file:") candidates.push(fileURLToPath(url));
  } catch {
    // A bundle may give this module no file URL.
  }
  candidates.push(path.resolve(/*turbopackIgnore: true*/ process.cwd(), "lib", "audit", CHAIN_WORKER_FILE));
  return candidates.find((file) => existsSync(file)) ?? null;
}

/** Walks `range` in a worker thread; rejects if the worker fails or exits early. */
function walkInWorker(workerFile: string, url: string, range: IdRange): Promise<RangeWalk> {
  return new Promise((resolve, reject) => {
    let walk: RangeWalk | null = null;
    const worker = new Worker(workerFile, {
      workerData: { url, afterId: range.afterId, lastId: range.lastId, batchSize: VERIFY_BATCH_SIZE },
    });
    worker.on("message", (message: RangeWalk) => {
      walk = message;
    });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (walk) resolve(walk);
      else reject(new Error(`audit chain worker ${workerFile} exited with code ${code} before reporting`));
    });
  });
}

/**
 * Reads the newest successful prune record that removed rows. Its own hash
 * is checked when the walk reaches it, so a forged or edited record breaks
 * the chain at that row.
 */
export async function readPruneAnchor(db: Db): Promise<PruneAnchor | null> {
  const [row] = await queryRows<{ id: string | number; last_removed_id: string | null; last_removed_hash: string | null }>(
    db,
    sql`select id, params->>'lastRemovedId' as last_removed_id,
          params->>'lastRemovedHash' as last_removed_hash
        from audit_events
        where action = ${PRUNE_ACTION} and phase = 'outcome' and result = 'success'
          and params->>'lastRemovedHash' is not null
        order by id desc
        limit 1`,
  );
  if (!row) return null;

  const lastRemovedId = Number(row.last_removed_id);
  return {
    recordId: Number(row.id),
    // A record without a valid id cannot match any row, so nothing passes.
    lastRemovedId: Number.isSafeInteger(lastRemovedId) ? lastRemovedId : Number.MAX_SAFE_INTEGER,
    lastRemovedHash: row.last_removed_hash!,
  };
}

/** Reads up to VERIFY_BATCH_SIZE rows after `afterId` and up to `lastId`, in id order. */
function readChainBatch(db: Db, afterId: number, lastId: number): Promise<RawChainRow[]> {
  return queryRows<RawChainRow>(
    db,
    sql`select ${sql.raw(CHAIN_COLUMNS)} from audit_events
        where id > ${afterId} and id <= ${lastId}
        order by id
        limit ${VERIFY_BATCH_SIZE}`,
  );
}

/**
 * Returns the id of the first row that breaks the hash chain, or null when
 * the whole chain is intact. See inspectAuditChain for the rules.
 */
export async function verifyAuditChain(db: Db): Promise<number | null> {
  const report = await inspectAuditChain(db);
  return report.firstBroken?.id ?? null;
}
