import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";
import {
  startTestDaemon,
  type TestDaemon,
} from "@/test/harness/lxd-daemon";
import { lxcOn } from "@/test/harness/lxc";
import { uniqueInstanceName } from "@/test/harness/lxd-test-context";
import { TINY_IMAGE_ALIAS, importTinyImage } from "@/test/harness/tiny-image";

import { cloneInstance } from "./clone";
import { listAddedHosts } from "./database-hosts";
import { addHost, removeHost, testHost } from "./enrol";
import { migrateInstance, planMigration } from "./migrate";
import { listOperationHistory } from "./operations";
import { listHosts, replaceHosts } from "./registry";
import { getFleet } from "./watcher";

// Two standalone daemons on loopback: mig-a comes from the hosts file (its
// unix socket), mig-b is added through the console's trust token code.
const context = {
  actor: { id: "test-admin", email: "admin@console.localhost" },
  sourceAddress: "127.0.0.1",
};

let daemonA: TestDaemon;
let daemonB: TestDaemon;
let db: Db;

/** Returns the instance's status on a daemon, or null when it does not exist there. */
async function statusOn(daemon: TestDaemon, name: string): Promise<string | null> {
  const out = await lxcOn(daemon, ["list", `^${name}$`, "--format", "csv", "--columns", "s"]);
  return out.trim() === "" ? null : out.trim();
}

async function trustToken(daemon: TestDaemon, clientName: string): Promise<string> {
  const out = await lxcOn(daemon, ["config", "trust", "add", "--name", clientName]);
  const token = out.trim().split("\n").at(-1);
  if (!token) throw new Error(`lxc config trust add printed no token: ${out}`);
  return token;
}

/** Runs a command in a container and returns its output, which proves it booted. */
async function execIn(daemon: TestDaemon, name: string, command: string[]): Promise<string> {
  return lxcOn(daemon, ["exec", name, "--", ...command]);
}

describe("hosts by trust token, clone and migrate", () => {
  beforeAll(async () => {
    [daemonA, daemonB] = await Promise.all([
      startTestDaemon({ name: "mig-a", httpsPort: 18471 }),
      startTestDaemon({ name: "mig-b", httpsPort: 18472 }),
    ]);
    await importTinyImage(daemonA);
    replaceHosts([
      { id: "mig-a", name: "Migration A", endpoint: { kind: "unix", socketPath: daemonA.socketPath } },
    ]);
    db = await openTestDb();
    await truncateTables(db);
    await db.execute(sql`truncate lxd_hosts, operation_history restart identity`);
  });

  afterAll(async () => {
    getFleet().stop();
    await closeDb(db);
    await Promise.all([daemonA?.stop(), daemonB?.stop()]);
  });

  it("rejects a token from another server", async () => {
    const token = await trustToken(daemonB, "console-wrong");
    const error = await caught(
      addHost(db, context, { id: "mig-x", name: "Wrong", url: daemonA.httpsUrl, token }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toMatch(/must be the server that created the token/);
    expect(listHosts().map((host) => host.id)).toEqual(["mig-a"]);

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("host.add");
    expect(outcome?.result).toBe("failure");
    expect(JSON.stringify(outcome?.params)).not.toContain(token);
  });

  it("adds a host by trust token and pins its certificate", async () => {
    const token = await trustToken(daemonB, "sandbox-console");
    const check = await addHost(db, context, {
      id: "mig-b",
      name: "Migration B",
      url: daemonB.httpsUrl,
      token,
    });
    expect(check.serverVersion).toBe("5.0.2");
    expect(check.clustered).toBe(false);
    expect(check.members).toEqual([]);

    const [added] = await listAddedHosts(db);
    expect(added?.id).toBe("mig-b");
    expect(added?.serverFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(added)).not.toContain("PRIVATE KEY");
    expect(listHosts().map((host) => host.id)).toEqual(["mig-a", "mig-b"]);

    const trust = await lxcOn(daemonB, ["config", "trust", "list", "--format", "csv"]);
    expect(trust).toContain("sandbox-console");
    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("host.add");
    expect(outcome?.result).toBe("success");
    expect(JSON.stringify(outcome)).not.toContain(token);
    expect(JSON.stringify(outcome)).not.toContain("PRIVATE KEY");
    expect((await testHost("mig-b")).serverName).toBeTruthy();

    await getFleet().ready();
    expect(getFleet().hosts().map((host) => [host.id, host.state])).toContainEqual([
      "mig-b",
      "online",
    ]);

    // A token works once.
    const reused = await caught(
      addHost(db, context, { id: "mig-c", name: "Again", url: daemonB.httpsUrl, token }),
    );
    expect((reused as ConsoleError).message).toMatch(/rejected the trust token/);
  });

  it("clones on one host without snapshots and starts the copy", async () => {
    const name = uniqueInstanceName("src");
    const copy = uniqueInstanceName("copy");
    await lxcOn(daemonA, ["launch", TINY_IMAGE_ALIAS, name]);
    await lxcOn(daemonA, ["snapshot", name, "s1"]);

    const result = await cloneInstance(db, context, {
      host: "mig-a",
      project: "default",
      name,
      targetHost: "mig-a",
      targetName: copy,
      instanceOnly: true,
      start: true,
    });
    expect(result.started).toBe(true);
    expect(await statusOn(daemonA, copy)).toBe("RUNNING");
    expect(await statusOn(daemonA, name)).toBe("RUNNING");
    expect(await execIn(daemonA, copy, ["echo", "booted"])).toBe("booted\n");
    const snapshots = await lxcOn(daemonA, ["query", `/1.0/instances/${copy}/snapshots`]);
    expect(JSON.parse(snapshots)).toEqual([]);
  });

  it("clones a snapshot to another host and boots it", async () => {
    const name = uniqueInstanceName("snap");
    const copy = uniqueInstanceName("far");
    await lxcOn(daemonA, ["init", TINY_IMAGE_ALIAS, name]);
    await lxcOn(daemonA, ["snapshot", name, "before"]);

    await cloneInstance(db, context, {
      host: "mig-a",
      project: "default",
      name,
      snapshot: "before",
      targetHost: "mig-b",
      targetName: copy,
      instanceOnly: false,
      start: true,
    });
    expect(await statusOn(daemonB, copy)).toBe("RUNNING");
    expect(await execIn(daemonB, copy, ["echo", "booted"])).toBe("booted\n");
    expect(await statusOn(daemonA, name)).toBe("STOPPED");

    const rows = await listAuditEvents(db, { limit: 2 });
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["instance.clone", "outcome", "success"],
      ["instance.clone", "intent", "pending"],
    ]);
    expect(rows[0]?.operationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("clones a running container to another host", async () => {
    const name = uniqueInstanceName("hot");
    const copy = uniqueInstanceName("hotcopy");
    await lxcOn(daemonA, ["launch", TINY_IMAGE_ALIAS, name]);

    await cloneInstance(db, context, {
      host: "mig-a",
      project: "default",
      name,
      targetHost: "mig-b",
      targetName: copy,
      instanceOnly: true,
      start: false,
    });
    expect(await statusOn(daemonB, copy)).toBe("STOPPED");
    expect(await statusOn(daemonA, name)).toBe("RUNNING");
  });

  it("rejects a target without the profile", async () => {
    const name = uniqueInstanceName("prof");
    const copy = uniqueInstanceName("noprof");
    await lxcOn(daemonA, ["profile", "create", "only-on-a"]);
    await lxcOn(daemonA, ["init", TINY_IMAGE_ALIAS, name, "--profile", "default", "--profile", "only-on-a"]);

    const error = await caught(
      cloneInstance(db, context, {
        host: "mig-a",
        project: "default",
        name,
        targetHost: "mig-b",
        targetName: copy,
        instanceOnly: false,
        start: false,
      }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toMatch(/Host "mig-b" has no profile "only-on-a"/);
    expect(await statusOn(daemonB, copy)).toBeNull();
    const history = await listOperationHistory(db, { limit: 50 });
    expect(history.filter((row) => row.instance === name)).toEqual([]);
  });

  it("migrates a stopped instance to another host", async () => {
    const name = uniqueInstanceName("cold");
    await lxcOn(daemonA, ["init", TINY_IMAGE_ALIAS, name]);

    const result = await migrateInstance(db, context, {
      host: "mig-a",
      project: "default",
      name,
      targetHost: "mig-b",
      live: false,
    });
    expect(result.method).toBe("stopped");
    expect(await statusOn(daemonA, name)).toBeNull();
    expect(await statusOn(daemonB, name)).toBe("STOPPED");
  });

  it("fails a live migration and leaves the container running", async () => {
    const name = uniqueInstanceName("live");
    await lxcOn(daemonA, ["launch", TINY_IMAGE_ALIAS, name]);

    const plan = await planMigration(db, { host: "mig-a", project: "default", name });
    expect(plan.hosts.map((host) => host.id)).toEqual(["mig-b"]);
    expect(plan.live.reason).toMatch(/CRIU/);

    const error = await caught(
      migrateInstance(db, context, {
        host: "mig-a",
        project: "default",
        name,
        targetHost: "mig-b",
        live: true,
      }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toMatch(/Copying .* failed/);
    expect((error as ConsoleError).message).toMatch(/Nothing was left on host "mig-b"/);
    expect(await statusOn(daemonA, name)).toBe("RUNNING");
    expect(await statusOn(daemonB, name)).toBeNull();

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("instance.migrate");
    expect(outcome?.result).toBe("failure");
    expect(outcome?.params).toEqual({ targetHost: "mig-b", targetMember: null, live: true });

    // Where LXD refuses before it starts an operation there is none to record;
    // where it fails later, the failed operations carry the action's id.
    const history = await listOperationHistory(db, { limit: 20 });
    const mine = history.filter((row) => row.instance === name);
    for (const row of mine) {
      expect(row.correlationId).toBe(outcome?.correlationId);
      expect(row.status).not.toBe("success");
    }

    // The next plan names the failure before anything is tried.
    const replanned = await planMigration(db, { host: "mig-a", project: "default", name });
    expect(replanned.live.reason).toMatch(/last live move from host "mig-a" failed/);
  });

  it("moves a running container by stop, move and start", async () => {
    const name = uniqueInstanceName("warm");
    await lxcOn(daemonA, ["launch", TINY_IMAGE_ALIAS, name]);

    const result = await migrateInstance(db, context, {
      host: "mig-a",
      project: "default",
      name,
      targetHost: "mig-b",
      live: false,
    });
    expect(result.method).toBe("stop-move-start");
    expect(result.downtimeMs).toBeGreaterThan(0);
    expect(await statusOn(daemonA, name)).toBeNull();
    expect(await statusOn(daemonB, name)).toBe("RUNNING");
    expect(await execIn(daemonB, name, ["echo", "moved"])).toBe("moved\n");

    const history = await listOperationHistory(db, { limit: 50 });
    const steps = history
      .filter((row) => row.instance === name)
      .reverse()
      .map((row) => [row.host, row.status]);
    // stop on A, migration source on A, create on B, delete on A, start on B
    expect(steps).toEqual([
      ["mig-a", "success"],
      ["mig-a", "success"],
      ["mig-b", "success"],
      ["mig-a", "success"],
      ["mig-b", "success"],
    ]);
  });

  it("removes the added host and its certificate", async () => {
    await removeHost(db, context, "mig-b");
    expect(listHosts().map((host) => host.id)).toEqual(["mig-a"]);
    expect(getFleet().hosts().map((host) => host.id)).toEqual(["mig-a"]);
    expect(await listAddedHosts(db)).toEqual([]);
    const trust = await lxcOn(daemonB, ["config", "trust", "list", "--format", "csv"]);
    expect(trust).not.toContain("sandbox-console");

    const fileHost = await caught(removeHost(db, context, "mig-a"));
    expect((fileHost as ConsoleError).message).toMatch(/hosts file/);
  });
});
