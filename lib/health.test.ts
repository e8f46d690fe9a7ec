import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { GET } from "@/app/api/health/route";
import { testDatabaseUrl } from "@/lib/db/test-database";

// The route opens the process-wide database from DATABASE_URL, so point it
// at the local test server before the first request.
process.env.DATABASE_URL = testDatabaseUrl();

describe("GET /api/health", () => {
  let dir: string;
  const previousHosts = process.env.SANDBOX_CONSOLE_HOSTS;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "health-"));
  });

  beforeEach(() => {
    delete process.env.SANDBOX_CONSOLE_HOSTS;
  });

  afterAll(async () => {
    if (previousHosts === undefined) delete process.env.SANDBOX_CONSOLE_HOSTS;
    else process.env.SANDBOX_CONSOLE_HOSTS = previousHosts;
    await rm(dir, { recursive: true, force: true });
  });

  it("GET /api/health: 503 for a hosts file that is not JSON", async () => {
    const file = path.join(dir, "broken.json");
    await writeFile(file, "[{ not json");
    process.env.SANDBOX_CONSOLE_HOSTS = file;

    const response = await GET();
    const body = (await response.json()) as {
      ok: boolean;
      error: string;
      checks: Record<string, { ok: boolean; error?: string }>;
    };

    expect(response.status).toBe(503);
    expect(body.ok).toBe(false);
    expect(body.error).toMatch(
      new RegExp(`^${file.replaceAll(".", "\\.")} is not valid JSON`),
    );
    expect(body.checks.hosts).toEqual({ ok: false, error: body.error });
    expect(body.checks.database).toEqual({ ok: true });
  });

  it("GET /api/health: 503 for a missing hosts file", async () => {
    const file = path.join(dir, "missing.json");
    process.env.SANDBOX_CONSOLE_HOSTS = file;

    const response = await GET();
    const body = (await response.json()) as { ok: boolean; error: string };

    expect(response.status).toBe(503);
    expect(body.ok).toBe(false);
    expect(body.error).toContain(`Cannot read the hosts file ${file}`);
    expect(body.error).toContain("ENOENT");
  });

  it("GET /api/health: 503 for an invalid host entry", async () => {
    const file = path.join(dir, "invalid.json");
    await writeFile(
      file,
      JSON.stringify([{ id: "Bad Id", name: "x", local: true }]),
    );
    process.env.SANDBOX_CONSOLE_HOSTS = file;

    const response = await GET();
    const body = (await response.json()) as { error: string };

    expect(response.status).toBe(503);
    expect(body.error).toContain(`${file} is not a valid hosts list.`);
    expect(body.error).toContain('"Bad Id"');
  });

  it("GET /api/health: 200 with a valid hosts file", async () => {
    const file = path.join(dir, "hosts.json");
    await writeFile(
      file,
      JSON.stringify([{ id: "local", name: "Local", local: true }]),
    );
    process.env.SANDBOX_CONSOLE_HOSTS = file;

    const response = await GET();

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      checks: { database: { ok: true }, hosts: { ok: true } },
    });
  });
});
