import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { log } from "@/lib/log";
import { acquirePgliteLock } from "./pglite-lock";
import * as schema from "./schema";

/**
 * A drizzle database on either driver. Transactions (`db.transaction`) pass a
 * value of the same shape, so functions taking a `Db` accept one too.
 */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DbDriver = "postgres" | "pglite";

interface DbHandle {
  driver: DbDriver;
  /** Location of the data for messages, without the password of a URL. */
  location: string;
  /** The connection URL of a Postgres database, for worker threads to open. */
  url?: string;
  close(): Promise<void>;
}

const handles = new WeakMap<Db, DbHandle>();

/**
 * Returns the folder for local state: the PGlite database (in `pglite/`) and
 * the generated auth secret. Set by SANDBOX_CONSOLE_DATA, default `./data`.
 */
export function dataDir(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.SANDBOX_CONSOLE_DATA ?? "data");
}

/**
 * Opens a database: postgres.js on `url` when given, else on DATABASE_URL
 * when set, else PGlite in `options.pgliteDir` (default `<dataDir>/pglite`).
 * Callers other than getDb own the result and close it with closeDb.
 */
export function createDb(url?: string, options: { pgliteDir?: string } = {}) {
  const databaseUrl =
    url ?? (options.pgliteDir ? undefined : process.env.DATABASE_URL);

  if (databaseUrl) return openPostgres(databaseUrl);
  return openPglite(options.pgliteDir ?? path.join(dataDir(), "pglite"));
}

function openPostgres(url: string): Db {
  const client = postgres(url, {
    // An unreachable audit store must fail an action within seconds, not
    // after the operating system's TCP timeout.
    // NOTE: only connecting is bounded. A server that stops responding on an
    // open connection stalls each query, and the VNC opens waiting on it,
    // for as long as it stays silent.
    connect_timeout: 5,
    max: 10,
    onnotice: (notice) =>
      log.debug({ notice: notice.message }, "postgres notice"),
  });
  const db = drizzlePostgres({ client, schema }) as unknown as Db;

  handles.set(db, {
    driver: "postgres",
    location: describePostgresUrl(url),
    url,
    close: () => client.end(),
  });
  return db;
}

function openPglite(dir: string): Db {
  mkdirSync(dir, { recursive: true });

  const releaseLock = acquirePgliteLock(dir);
  let client: PGlite;
  try {
    client = new PGlite(dir);
  } catch (error) {
    releaseLock();
    throw error;
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;

  handles.set(db, {
    driver: "pglite",
    location: `PGlite database in ${dir}`,
    close: async () => {
      try {
        await client.close();
      } finally {
        releaseLock();
      }
    },
  });
  return db;
}

/** Returns the driver behind a database opened by createDb or getDb. */
export function dbDriver(db: Db): DbDriver {
  const handle = handles.get(db);
  if (!handle) throw new Error("This database was not opened by createDb.");
  return handle.driver;
}

/**
 * Describes where a database opened by createDb lives, such as `Postgres
 * database "console" at 127.0.0.1:5432`, for messages and logs.
 */
export function describeDb(db: Db): string {
  const handle = handles.get(db);
  if (!handle) throw new Error("This database was not opened by createDb.");
  return handle.location;
}

/**
 * Returns the URL of a Postgres database opened by createDb or getDb, so
 * that a worker thread can open its own connection. Returns null for PGlite,
 * because only one process may open it, and only once.
 */
export function postgresUrl(db: Db): string | null {
  return handles.get(db)?.url ?? null;
}

function describePostgresUrl(url: string): string {
  try {
    const { hostname, port, pathname } = new URL(url);
    const name = decodeURIComponent(pathname.slice(1)) || "postgres";
    return `Postgres database "${name}" at ${hostname}:${port || "5432"}`;
  } catch {
    return "Postgres database at DATABASE_URL";
  }
}

/** Closes the connection pool or the PGlite instance behind `db`. */
export async function closeDb(db: Db): Promise<void> {
  await handles.get(db)?.close();
  handles.delete(db);
}

// Next's dev server reloads modules on every change, so the database is kept
// on globalThis to stop each reload from opening another pool.
const globalForDb = globalThis as typeof globalThis & {
  sandboxConsoleDb?: Db;
};

/** Returns the process-wide database, opened from the environment on first use. */
export function getDb(): Db {
  globalForDb.sandboxConsoleDb ??= createDb();
  return globalForDb.sandboxConsoleDb;
}

/**
 * Runs a raw SQL statement and returns its rows, whichever the driver:
 * postgres.js returns the rows as an array and PGlite as `{ rows }`.
 */
export async function queryRows<T extends Record<string, unknown>>(
  db: Db,
  query: Parameters<Db["execute"]>[0],
): Promise<T[]> {
  const result: unknown = await db.execute(query);

  if (Array.isArray(result)) return result as T[];
  return (result as { rows: T[] }).rows;
}
