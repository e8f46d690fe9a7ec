import path from "node:path";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { ConsoleError } from "@/lib/errors";
import { dbDriver, describeDb, queryRows, type Db } from "./client";
import type * as schema from "./schema";

/** The drizzle-kit output folder, relative to the working directory. */
export const defaultMigrationsFolder = path.resolve("drizzle");

/**
 * Applies the pending migrations in `migrationsFolder` with the migrator that
 * matches the driver behind `db`. Applied migrations are tracked in
 * `drizzle.__drizzle_migrations`, so running it again is a no-op.
 */
export async function migrateDb(
  db: Db,
  migrationsFolder = defaultMigrationsFolder,
): Promise<void> {
  const config = { migrationsFolder };

  if (dbDriver(db) === "pglite") {
    await migratePglite(db as unknown as PgliteDatabase<typeof schema>, config);
  } else {
    await migratePostgres(
      db as unknown as PostgresJsDatabase<typeof schema>,
      config,
    );
  }
}

/** The command that applies the migrations, for messages. */
export const MIGRATE_COMMAND = "npx tsx scripts/migrate.ts";

/**
 * Returns how many migrations in `migrationsFolder` the database lacks,
 * by the rule drizzle's migrator applies: a migration is pending when it
 * is newer than the newest row of drizzle.__drizzle_migrations.
 */
export async function countPendingMigrations(
  db: Db,
  migrationsFolder = defaultMigrationsFolder,
): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const [table] = await queryRows<{ name: string | null }>(
    db,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as name`,
  );
  if (!table?.name) return migrations.length;

  const [newest] = await queryRows<{ created_at: string | number | null }>(
    db,
    sql`select max(created_at) as created_at from drizzle.__drizzle_migrations`,
  );
  const appliedUpTo = Number(newest?.created_at ?? 0);
  return migrations.filter((migration) => migration.folderMillis > appliedUpTo)
    .length;
}

/**
 * Throws ConsoleError("database_not_migrated") naming the migrate command
 * when the database lacks migrations, so scripts fail with the fix instead
 * of a missing-table error.
 */
export async function assertMigrated(
  db: Db,
  migrationsFolder = defaultMigrationsFolder,
): Promise<void> {
  const pending = await countPendingMigrations(db, migrationsFolder);
  if (pending === 0) return;

  const total = readMigrationFiles({ migrationsFolder }).length;
  const state =
    pending === total
      ? "has no tables yet"
      : `lacks ${pending} of ${total} migrations`;
  throw new ConsoleError(
    "database_not_migrated",
    `The ${describeDb(db)} ${state}. Run \`${MIGRATE_COMMAND}\` ` +
      "with the same DATABASE_URL and SANDBOX_CONSOLE_DATA first, then run " +
      "this command again.",
  );
}
