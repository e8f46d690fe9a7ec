import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";

import { closeDb, createDb, type Db } from "./client";
import {
  MIGRATE_COMMAND,
  assertMigrated,
  countPendingMigrations,
  defaultMigrationsFolder,
  migrateDb,
} from "./migrate";

interface Journal {
  entries: Array<{ tag: string }>;
}

describe("assertMigrated on PGlite", () => {
  let folder: string;
  let db: Db;

  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "sandbox-console-migrate-"));
    db = createDb(undefined, { pgliteDir: path.join(folder, "pglite") });
  });

  afterEach(async () => {
    await closeDb(db);
    await rm(folder, { recursive: true, force: true });
  });

  it("names the migrate command for an empty database", async () => {
    const error = await caught(assertMigrated(db));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("database_not_migrated");
    expect((error as ConsoleError).message).toBe(
      `The PGlite database in ${path.join(folder, "pglite")} has no tables ` +
        `yet. Run \`${MIGRATE_COMMAND}\` with the same DATABASE_URL and ` +
        "SANDBOX_CONSOLE_DATA first, then run this command again.",
    );
  });

  it("passes after the migrations", async () => {
    await migrateDb(db);

    expect(await countPendingMigrations(db)).toBe(0);
    await expect(assertMigrated(db)).resolves.toBeUndefined();
  });

  it("counts migrations added later", async () => {
    // A copy of the migrations folder without the newest migration stands
    // for a database migrated by an older version of the console.
    const older = path.join(folder, "drizzle");
    await cp(defaultMigrationsFolder, older, { recursive: true });
    const journalPath = path.join(older, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as Journal;
    const total = journal.entries.length;
    journal.entries.pop();
    await writeFile(journalPath, JSON.stringify(journal));
    await migrateDb(db, older);

    expect(await countPendingMigrations(db)).toBe(1);
    const error = await caught(assertMigrated(db));
    expect((error as ConsoleError).message).toContain(
      `lacks 1 of ${total} migrations. Run \`${MIGRATE_COMMAND}\``,
    );
  });
});
