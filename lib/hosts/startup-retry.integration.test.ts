import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { closeDb, createDb, getDb, type Db } from "@/lib/db/client";
import { migrateDb } from "@/lib/db/migrate";
import { lxdHosts } from "@/lib/db/schema";
import { testDatabaseUrl } from "@/lib/db/test-database";
import {
  startTestDaemon,
  trustedHttpsEndpoint,
  type TestDaemon,
} from "@/test/harness/lxd-daemon";
import { runCommand, runCommandOrThrow } from "@/test/harness/run-command";

import { replaceHosts } from "./registry";
import { startHostServices, type HostServices } from "./startup";

// The console starts while its database does not exist yet, then the
// database appears with a host in it: the retried load must start watching
// that host without a restart. The database is prepared under another name
// and renamed, because a retry that found it migrated but still empty would
// load no hosts and stop retrying.
const databaseName = "h_toolbox_retry";
const preparedName = "h_toolbox_retry_prepared";
const postgresArgs = ["-h", "127.0.0.1", "-U", "postgres"];

let daemon: TestDaemon;
let services: HostServices | null = null;
let db: Db | null = null;
let databaseUrl: string;
let preparedUrl: string;
let dataDir: string;

async function dropDatabase(): Promise<void> {
  await runCommand("dropdb", [...postgresArgs, "--if-exists", databaseName]);
  await runCommand("dropdb", [...postgresArgs, "--if-exists", preparedName]);
}

describe("host services at start", () => {
  beforeAll(async () => {
    const base = new URL(testDatabaseUrl());
    base.pathname = `/${databaseName}`;
    databaseUrl = base.toString();
    base.pathname = `/${preparedName}`;
    preparedUrl = base.toString();
    process.env.DATABASE_URL = databaseUrl;
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "h3-retry-"));
    process.env.SANDBOX_CONSOLE_DATA = dataDir;
    delete process.env.CONSOLE_SECRET_KEY;

    await dropDatabase();
    daemon = await startTestDaemon({ name: "tb-a", httpsPort: 18481 });
    replaceHosts([]);
  });

  afterAll(async () => {
    services?.stopRetrying();
    services?.ingester.stop();
    services?.fleet.stop();
    await closeDb(getDb());
    if (db) await closeDb(db);
    await dropDatabase();
    await daemon?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("retries loading added hosts", async () => {
    services = await startHostServices({ minRetryMs: 200, maxRetryMs: 1_000 });
    expect(services.fleet.hosts()).toEqual([]);

    await runCommandOrThrow("createdb", [...postgresArgs, preparedName]);
    const prepared = createDb(preparedUrl);
    await migrateDb(prepared);
    const endpoint = await trustedHttpsEndpoint(daemon);
    await prepared.insert(lxdHosts).values({
      id: "tb-a",
      name: "Toolbox A",
      url: endpoint.url,
      serverCertificate: endpoint.serverCert,
      serverFingerprint: "0".repeat(64),
      clientCertificate: endpoint.clientCert,
      clientKey: endpoint.clientKey,
    });
    await closeDb(prepared);
    await runCommandOrThrow("psql", [
      ...postgresArgs,
      "-d",
      "postgres",
      "-c",
      `alter database ${preparedName} rename to ${databaseName}`,
    ]);
    db = createDb(databaseUrl);

    const deadline = Date.now() + 20_000;
    while (services.fleet.hosts().length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(services.fleet.hosts().map((host) => host.id)).toEqual(["tb-a"]);
    await services.fleet.ready();
    expect(services.fleet.hosts()[0]?.state).toBe("online");

    const [row] = await db.select({ clientKey: lxdHosts.clientKey }).from(lxdHosts);
    expect(row?.clientKey.startsWith("enc:v1:")).toBe(true);
  });
});
