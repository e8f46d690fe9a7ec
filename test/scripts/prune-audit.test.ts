import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { runCommand } from "@/test/harness/run-command";

// The script on the embedded PGlite store, as an admin runs it on the server.
describe("scripts/prune-audit.ts", () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "prune-audit-"));
    env = { ...process.env, SANDBOX_CONSOLE_DATA: dataDir };
    delete env.DATABASE_URL;
    delete env.SANDBOX_CONSOLE_AUDIT_WITNESS;
    const migrated = await runCommand("npx", ["tsx", "scripts/migrate.ts"], { env, timeoutMs: 120_000 });
    expect(migrated.code, migrated.stderr).toBe(0);
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("names the witness file it wrote", async () => {
    const result = await runCommand("npx", ["tsx", "scripts/prune-audit.ts", "--before", "2000-01-01", "--yes"], {
      env,
      timeoutMs: 60_000,
    });

    const witnessFile = path.join(dataDir, "audit-witness.jsonl");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`The prune is written to the witness file ${witnessFile}.`);
    expect(await readFile(witnessFile, "utf8")).toContain('"kind":"prune"');
  });

  it("fails when the witness file cannot be written", async () => {
    const missingFolder = path.join(dataDir, "no-such-folder", "witness.jsonl");
    const result = await runCommand("npx", ["tsx", "scripts/prune-audit.ts", "--before", "2000-01-01", "--yes"], {
      env: { ...env, SANDBOX_CONSOLE_AUDIT_WITNESS: missingFolder },
      timeoutMs: 60_000,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the prune is done, but writing it to the witness file failed");
    expect(result.stderr).toContain("does not exist. Create it");
  });
});
