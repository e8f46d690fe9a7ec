import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach } from "vitest";

import { closeDb, type Db } from "./client";
import { openTestDb, truncateTables } from "./test-database";

// Vitest hooks for suites that use the real Postgres server. Kept apart from
// test-database.ts, which the Playwright specs import without Vitest.

/**
 * Opens the test database for the suite and empties its tables before each
 * test. Returns a getter, since the database opens in beforeAll.
 */
export function setUpTestDatabase(): () => Db {
  let db: Db | undefined;

  beforeAll(async () => {
    db = await openTestDb();
  });

  afterAll(async () => {
    if (db) await closeDb(db);
  });

  beforeEach(async () => {
    await truncateTables(db!);
  });

  return () => {
    if (!db) throw new Error("The test database is open only inside tests and hooks");
    return db;
  };
}

/**
 * Runs `change` as a database superuser could: in one transaction with the
 * audit log's append-only triggers switched off, and on again before commit.
 */
export async function tamperWithAuditLog(db: Db, change: (tx: Db) => Promise<unknown>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await change(tx);
    await tx.execute(sql`alter table audit_events enable trigger user`);
  });
}
