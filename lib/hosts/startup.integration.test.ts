import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, getDb, type Db } from "@/lib/db/client";
import { lxdHosts } from "@/lib/db/schema";
import { testDatabaseUrl, truncateTables } from "@/lib/db/test-database";
import { migrateDb } from "@/lib/db/migrate";
import {
  startTestDaemon,
  trustedHttpsEndpoint,
  type TestDaemon,
} from "@/test/harness/lxd-daemon";
import { lxcOn } from "@/test/harness/lxc";
import { uniqueInstanceName } from "@/test/harness/lxd-test-context";
import { runCommand } from "@/test/harness/run-command";
import { TINY_IMAGE_ALIAS, importTinyImage } from "@/test/harness/tiny-image";

import { addHost, removeHost } from "./enrol";
import {
  SECRET_KEY_FILE_NAME,
  decryptHostKey,
  loadSecretKey,
} from "./host-key-encryption";
import type { HostRow } from "./host-rows";
import { listHosts, replaceHosts } from "./registry";
import { startHostServices, type HostServices } from "./startup";

// tb-a is the hosts file's host (its unix socket). tb-b is a host added in
// the console: its row is written as an older console wrote it, with the
// client key in plaintext, before the services start.
const context = {
  actor: { id: "test-admin", email: "admin@console.localhost" },
  sourceAddress: "127.0.0.1",
};

let daemonA: TestDaemon;
let daemonB: TestDaemon;
let db: Db;
let services: HostServices;
let dataDir: string;
let hostsFile: string;
let clientKey: string;

/** Returns the lines between the PEM armour, which are the secret itself. */
function keyBody(pem: string): string[] {
  return pem
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("-----"));
}

function expectNoKey(text: string, where: string, pem = clientKey): void {
  expect(text, `${where} contains a PEM private key`).not.toMatch(/PRIVATE KEY/);
  for (const line of keyBody(pem)) {
    expect(text.includes(line), `${where} contains a line of the client key`).toBe(false);
  }
}

async function waitForAuditRow(action: string, instance: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await services.ingester.flush();
    const rows = await listAuditEvents(db, { limit: 200 });
    const row = rows.find((event) => event.action === action && event.instance === instance);
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no audit row ${action} for ${instance} within ${timeoutMs} ms`);
}

/** Runs the host services in a child process and returns its output and the rows it printed. */
async function runChild(env: Record<string, string>) {
  const result = await runCommand(
    path.resolve("node_modules/.bin/tsx"),
    ["test/harness/host-services-child.ts"],
    {
      env: {
        ...process.env,
        LOG_LEVEL: "trace",
        SANDBOX_CONSOLE_HOSTS: hostsFile,
        SANDBOX_CONSOLE_DATA: dataDir,
        ...env,
      },
      // tsx compiles the console's modules in each child, which took up to
      // 50 s on a 2-core machine while a console build ran.
      timeoutMs: 110_000,
    },
  );
  const rowsLine = result.stdout.split("\n").find((line) => line.startsWith("ROWS "));
  const rows = rowsLine ? (JSON.parse(rowsLine.slice(5)) as HostRow[]) : null;
  return { ...result, rows };
}

describe("hosts added in the console at start", () => {
  beforeAll(async () => {
    [daemonA, daemonB] = await Promise.all([
      startTestDaemon({ name: "tb-a", httpsPort: 18481 }),
      startTestDaemon({ name: "tb-b", httpsPort: 18482 }),
    ]);
    await importTinyImage(daemonB);

    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "h3-startup-"));
    process.env.SANDBOX_CONSOLE_DATA = dataDir;
    delete process.env.CONSOLE_SECRET_KEY;
    hostsFile = path.join(dataDir, "hosts.json");
    await fs.writeFile(
      hostsFile,
      JSON.stringify([{ id: "tb-a", name: "Toolbox A", socket: daemonA.socketPath }]),
    );
    replaceHosts([
      { id: "tb-a", name: "Toolbox A", endpoint: { kind: "unix", socketPath: daemonA.socketPath } },
    ]);

    process.env.DATABASE_URL = testDatabaseUrl();
    db = getDb();
    await migrateDb(db);
    await truncateTables(db);
    await db.execute(sql`truncate lxd_hosts, operation_history restart identity`);

    const endpoint = await trustedHttpsEndpoint(daemonB);
    clientKey = endpoint.clientKey;
    await db.insert(lxdHosts).values({
      id: "tb-b",
      name: "Toolbox B",
      url: endpoint.url,
      serverCertificate: endpoint.serverCert,
      serverFingerprint: "0".repeat(64),
      clientCertificate: endpoint.clientCert,
      clientKey: endpoint.clientKey,
      addedBy: "older-console@console.localhost",
    });
  });

  afterAll(async () => {
    services?.stopRetrying();
    services?.ingester.stop();
    services?.fleet.stop();
    await closeDb(db);
    await Promise.all([daemonA?.stop(), daemonB?.stop()]);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("encrypts plaintext keys and watches added hosts", async () => {
    services = await startHostServices();

    const [row] = await db.select().from(lxdHosts).where(eq(lxdHosts.id, "tb-b"));
    expect(row?.clientKey.startsWith("enc:v1:")).toBe(true);
    expectNoKey(row?.clientKey ?? "", "the stored client key");
    const keyFile = await fs.stat(path.join(dataDir, SECRET_KEY_FILE_NAME));
    expect(keyFile.mode & 0o777).toBe(0o600);

    // The watcher exists before any page or action asked for the fleet.
    expect(services.fleet.hosts().map((host) => host.id).sort()).toEqual(["tb-a", "tb-b"]);
    await services.fleet.ready();
    const statusB = services.fleet.hosts().find((host) => host.id === "tb-b");
    expect(statusB?.state).toBe("online");
  });

  it("ingests lxc changes on an added host", async () => {
    const name = uniqueInstanceName("start");
    await lxcOn(daemonB, ["init", TINY_IMAGE_ALIAS, name]);

    const row = await waitForAuditRow("lxd.instance-created", name);
    expect(row.host).toBe("tb-b");
    expect(row.phase).toBe("event");
    await lxcOn(daemonB, ["delete", name]);
    await waitForAuditRow("lxd.instance-deleted", name);
  });

  it("keeps the client key out of logs and page rows", async () => {
    const good = await runChild({});
    expect(good.code, good.stderr).toBe(0);
    expect(good.rows?.find((row) => row.id === "tb-b")?.state).toBe("online");
    expectNoKey(good.stdout + good.stderr, "the output of a console start");

    const wrongKey = randomBytes(32).toString("base64");
    const wrong = await runChild({ CONSOLE_SECRET_KEY: wrongKey });
    expect(wrong.code, wrong.stderr).toBe(0);
    const unusable = wrong.rows?.find((row) => row.id === "tb-b");
    expect(unusable?.state).toBe("unusable");
    expect(unusable?.error).toContain('host "tb-b"');
    expect(unusable?.error).toContain("CONSOLE_SECRET_KEY");
    expect(unusable?.error).toContain("remove the host and add it again");
    expect(wrong.stdout).toContain("loading a host added in the console failed");
    expectNoKey(wrong.stdout + wrong.stderr, "the output of a start with a wrong key");
    expect(wrong.stdout.includes(wrongKey)).toBe(false);
  }, 240_000);

  it("stops watching a removed host", async () => {
    const name = uniqueInstanceName("gone");
    await removeHost(db, context, "tb-b");

    expect(services.fleet.hosts().map((host) => host.id)).toEqual(["tb-a"]);
    expect(listHosts().map((host) => host.id)).toEqual(["tb-a"]);

    await lxcOn(daemonB, ["init", TINY_IMAGE_ALIAS, name]);
    // The same change on a watched host reaches the audit log well within
    // this time (see the test above), so its absence means no watcher.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await services.ingester.flush();
    const rows = await listAuditEvents(db, { limit: 200 });
    expect(rows.filter((event) => event.instance === name)).toEqual([]);
    await lxcOn(daemonB, ["delete", name]);
  });

  it("encrypts the key of a host added by token", async () => {
    const token = (await lxcOn(daemonB, ["config", "trust", "add", "--name", "h3-console"]))
      .trim()
      .split("\n")
      .at(-1);
    const check = await addHost(db, context, {
      id: "tb-b",
      name: "Toolbox B",
      url: daemonB.httpsUrl,
      token: token ?? "",
    });

    const [row] = await db.select().from(lxdHosts).where(eq(lxdHosts.id, "tb-b"));
    expect(row?.clientKey.startsWith("enc:v1:")).toBe(true);
    expect(row?.clientKey).not.toMatch(/PRIVATE KEY/);
    expect(services.fleet.hosts().map((host) => host.id).sort()).toEqual(["tb-a", "tb-b"]);

    const pem = decryptHostKey(row?.clientKey ?? "", "tb-b", loadSecretKey());
    expect(pem).toMatch(/PRIVATE KEY/);
    const audit = await listAuditEvents(db, { limit: 200 });
    const serialized = JSON.stringify({ check, audit });
    expectNoKey(serialized, "the add result and the audit rows", pem);
    expect(serialized).not.toContain(row?.clientKey ?? "unreachable");

    await removeHost(db, context, "tb-b");
  });
});
