import { closeDb, dbDriver } from "@/lib/db/client";
import { openScriptDatabase } from "./open-database";
import { migrateDb } from "@/lib/db/migrate";
import { log } from "@/lib/log";

// Applies the drizzle/ migrations to DATABASE_URL, or to the PGlite database
// in the data folder when DATABASE_URL is unset.
const db = openScriptDatabase("migrate");

try {
  await migrateDb(db);
  log.info({ driver: dbDriver(db) }, "database migrations applied");
} catch (error) {
  log.error({ err: error, driver: dbDriver(db) }, "database migration failed");
  process.exitCode = 1;
} finally {
  await closeDb(db);
}
