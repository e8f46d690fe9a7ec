import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";
import { startTestCluster, type TestCluster } from "@/test/harness/lxd-cluster";
import { lxcOn } from "@/test/harness/lxc";
import { uniqueInstanceName } from "@/test/harness/lxd-test-context";
import { TINY_IMAGE_ALIAS, importTinyImage } from "@/test/harness/tiny-image";

import { listHostRows } from "./host-rows";
import { migrateInstance, planMigration } from "./migrate";
import { listOperationHistory } from "./operations";
import { replaceHosts } from "./registry";
import { getFleet } from "./watcher";

// A two-member cluster on loopback. The console registers it as one host,
// "tb-c1", through the first member's unix socket.
const context = {
  actor: { id: "test-admin", email: "admin@console.localhost" },
  sourceAddress: "127.0.0.1",
};

let cluster: TestCluster;
let db: Db;

/** Returns the member an instance is on and its status, as `lxc list` prints them. */
async function locationOf(name: string): Promise<{ member: string; status: string } | null> {
  const out = await lxcOn(cluster.first, ["list", `^${name}$`, "--format", "csv", "--columns", "Ls"]);
  const [member, status] = out.trim().split(",");
  return member && status ? { member, status } : null;
}

function keyOf(name: string) {
  return { host: "tb-c1", project: "default", name };
}

describe("migration between cluster members", () => {
  beforeAll(async () => {
    cluster = await startTestCluster({ names: ["tb-c1", "tb-c2"], ports: [18483, 18484] });
    await importTinyImage(cluster.first);
    replaceHosts([
      {
        id: "tb-c1",
        name: "Toolbox cluster",
        endpoint: { kind: "unix", socketPath: cluster.first.socketPath },
      },
    ]);
    db = await openTestDb();
    await truncateTables(db);
    await db.execute(sql`truncate lxd_hosts, operation_history restart identity`);
  });

  afterAll(async () => {
    getFleet().stop();
    if (db) await closeDb(db);
    await cluster?.stop();
  });

  it("lists the members on the hosts page", async () => {
    const fleet = getFleet();
    await fleet.ready();
    const [row] = await listHostRows(db, fleet);

    expect(row?.id).toBe("tb-c1");
    expect(row?.state).toBe("online");
    expect(row?.members.map((member) => [member.name, member.url, member.status])).toEqual([
      ["tb-c1", "https://127.0.0.1:18483", "Online"],
      ["tb-c2", "https://127.0.0.1:18484", "Online"],
    ]);
  });

  it("offers the other member as a target", async () => {
    const name = uniqueInstanceName("plan");
    await lxcOn(cluster.first, ["init", TINY_IMAGE_ALIAS, name, "--target", "tb-c1"]);

    const plan = await planMigration(db, keyOf(name));
    expect(plan.members).toEqual(["tb-c2"]);
    expect(plan.hosts).toEqual([]);
    expect(plan.status).toBe("Stopped");
    await lxcOn(cluster.first, ["delete", name]);
  });

  it("moves a stopped instance to the other member", async () => {
    const name = uniqueInstanceName("member");
    await lxcOn(cluster.first, ["init", TINY_IMAGE_ALIAS, name, "--target", "tb-c1"]);
    expect(await locationOf(name)).toEqual({ member: "tb-c1", status: "STOPPED" });

    const result = await migrateInstance(db, context, {
      ...keyOf(name),
      targetHost: "tb-c1",
      targetMember: "tb-c2",
      live: false,
    });

    expect(result).toEqual({ host: "tb-c1", member: "tb-c2", method: "stopped", downtimeMs: null });
    expect(await locationOf(name)).toEqual({ member: "tb-c2", status: "STOPPED" });

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("instance.migrate");
    expect(outcome?.result).toBe("success");
    expect(outcome?.operationId).toMatch(/^[0-9a-f-]{36}$/);
    const history = await listOperationHistory(db, { limit: 10 });
    const move = history.find((operation) => operation.lxdOperationId === outcome?.operationId);
    expect(move?.action).toBe("instance.migrate");
    expect(move?.status).toBe("success");
    expect(move?.instance).toBe(name);
    await lxcOn(cluster.first, ["delete", name]);
  });

  it("stops, moves and starts a running instance", async () => {
    const name = uniqueInstanceName("running");
    await lxcOn(cluster.first, ["launch", TINY_IMAGE_ALIAS, name, "--target", "tb-c2"]);

    const result = await migrateInstance(db, context, {
      ...keyOf(name),
      targetHost: "tb-c1",
      targetMember: "tb-c1",
      live: false,
    });

    expect(result.method).toBe("stop-move-start");
    expect(result.downtimeMs).toBeGreaterThan(0);
    expect(await locationOf(name)).toEqual({ member: "tb-c1", status: "RUNNING" });
    await lxcOn(cluster.first, ["delete", "--force", name]);
  });

  it("rejects an unknown member and leaves the instance", async () => {
    const name = uniqueInstanceName("nowhere");
    await lxcOn(cluster.first, ["init", TINY_IMAGE_ALIAS, name, "--target", "tb-c1"]);

    const error = await caught(
      migrateInstance(db, context, {
        ...keyOf(name),
        targetHost: "tb-c1",
        targetMember: "tb-c9",
        live: false,
      }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toBe(
      '"tb-c9" is not a member of the cluster of host "tb-c1". Choose one of: tb-c1, tb-c2.',
    );
    expect(await locationOf(name)).toEqual({ member: "tb-c1", status: "STOPPED" });

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("instance.migrate");
    expect(outcome?.result).toBe("failure");
    await lxcOn(cluster.first, ["delete", name]);
  });

  it("rejects a move to the member it is on", async () => {
    const name = uniqueInstanceName("same");
    await lxcOn(cluster.first, ["init", TINY_IMAGE_ALIAS, name, "--target", "tb-c2"]);

    const error = await caught(
      migrateInstance(db, context, {
        ...keyOf(name),
        targetHost: "tb-c1",
        targetMember: "tb-c2",
        live: false,
      }),
    );
    expect((error as ConsoleError).message).toBe(
      `"${name}" is already on member "tb-c2". Choose another member.`,
    );
    expect(await locationOf(name)).toEqual({ member: "tb-c2", status: "STOPPED" });
    await lxcOn(cluster.first, ["delete", name]);
  });
});
