import { sql } from "drizzle-orm";
import { createDb, type Db } from "./client";
import { migrateDb } from "./migrate";

// Helpers for tests that need the real Postgres server. Not imported by the
// application.

const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Returns DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
 * throws unless it points at this machine, because the tests truncate tables.
 */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const { hostname } = new URL(url);

  if (!LOCAL_HOSTS.has(hostname)) {
    throw new Error(
      `Refusing to run database tests against ${hostname}: the tests ` +
        "truncate tables. Point DATABASE_URL at a local server such as " +
        DEFAULT_TEST_DATABASE_URL,
    );
  }
  return url;
}

/** Opens the test database and applies the migrations. */
export async function openTestDb(): Promise<Db> {
  const db = createDb(testDatabaseUrl());
  await migrateDb(db);
  return db;
}

/**
 * Empties the audit and auth tables and restarts the audit id sequence.
 * The limit presets go back to the three the migration seeds.
 */
export async function truncateTables(db: Db): Promise<void> {
  await db.execute(
    sql`truncate audit_events, verification, account, session, "user" restart identity`,
  );
  await db.execute(sql`truncate limit_presets`);
  await db.execute(sql`
    insert into limit_presets (name, description, limits) values
      ('small', '1 CPU, 1 GiB of memory', '{"limits.cpu": "1", "limits.memory": "1GiB", "limits.processes": "500"}'),
      ('medium', '2 CPUs, 2 GiB of memory', '{"limits.cpu": "2", "limits.memory": "2GiB", "limits.processes": "1000"}'),
      ('large', '4 CPUs, 4 GiB of memory', '{"limits.cpu": "4", "limits.memory": "4GiB", "limits.processes": "2000"}')
  `);
}
