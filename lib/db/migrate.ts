import path from "node:path";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { dbDriver, type Db } from "./client";
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
