import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { runCommand } from "@/test/harness/run-command";

describe("scripts/create-admin.ts", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "create-admin-"));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("asks for the migrations on a new database", async () => {
    // An empty data folder and no DATABASE_URL: a PGlite database without tables.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SANDBOX_CONSOLE_DATA: dataDir,
    };
    delete env.DATABASE_URL;

    const result = await runCommand("npx", ["tsx", "scripts/create-admin.ts"], {
      env,
      timeoutMs: 60_000,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `create-admin failed: The PGlite database in ${path.join(dataDir, "pglite")} ` +
        "has no tables yet. Run `npx tsx scripts/migrate.ts` with the same " +
        "DATABASE_URL and SANDBOX_CONSOLE_DATA first, then run this command again.\n",
    );
  });
});
