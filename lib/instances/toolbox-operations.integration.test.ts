import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import type { OperationRecord } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { touchesInstance } from "@/lib/hosts/operation-text";
import { listOperationHistory } from "@/lib/hosts/operations";
import { replaceHosts } from "@/lib/hosts/registry";
import { getFleet, type OperationProgress } from "@/lib/hosts/watcher";
import { caught } from "@/test/harness/caught";
import { startTestDaemon, type TestDaemon } from "@/test/harness/lxd-daemon";
import { uniqueInstanceName } from "@/test/harness/lxd-test-context";
import { TINY_IMAGE_ALIAS, importTinyImage } from "@/test/harness/tiny-image";

import { runBulkAction } from "./bulk";
import { deleteInstanceAudited } from "./delete";
import { respondToIncident } from "./incident";
import {
  createInstanceSnapshot,
  deleteInstanceSnapshot,
  restoreInstanceSnapshot,
} from "./snapshots";
import type { InstanceKey } from "./types";

// The toolbox's long LXD operations land in operation_history like clones
// do, and their operation events, which carry the progress to the browser,
// name the instance the way the panels filter them.
const actor = { actor: { id: "test-user", email: "tester@console.localhost" } };

let daemon: TestDaemon;
let db: Db;
const seen: OperationProgress[] = [];
let unsubscribe: () => void = () => {};
const name = uniqueInstanceName("ops");

function keyOf(instance: string): InstanceKey {
  return { host: "tb-a", project: "default", name: instance };
}

async function history(): Promise<OperationRecord[]> {
  return listOperationHistory(db, { limit: 50 });
}

/** Waits for the fleet to pass on an event of operation `id`, as the browser gets it. */
async function eventOf(id: string): Promise<OperationProgress> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const event = seen.find((operation) => operation.id === id);
    if (event) return event;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no operation event for ${id} within 10 s`);
}

/** Checks the newest outcome row of `action` against the operation_history rows. */
async function expectRecorded(action: string, instance: string): Promise<OperationRecord> {
  const outcomes = (await listAuditEvents(db, { limit: 100 })).filter(
    (event) => event.action === action && event.phase === "outcome",
  );
  const outcome = outcomes[0];
  expect(outcome?.result, `${action} outcome`).toBe("success");

  const rows = (await history()).filter((row) => row.action === action);
  const row = rows.find((entry) => entry.lxdOperationId === outcome?.operationId);
  expect(row, `operation_history row of ${action}`).toBeDefined();
  expect(row?.status).toBe("success");
  expect(row?.instance).toBe(instance);
  expect(row?.host).toBe("tb-a");
  expect(row?.actor).toBe("tester@console.localhost");
  expect(row?.correlationId).toBe(outcome?.correlationId);
  expect(row?.finishedAt).not.toBeNull();

  const event = await eventOf(row?.lxdOperationId ?? "");
  expect(touchesInstance(event, instance)).toBe(true);
  expect(event.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  return row as OperationRecord;
}

describe("toolbox operations", () => {
  beforeAll(async () => {
    daemon = await startTestDaemon({ name: "tb-a", httpsPort: 18481 });
    await importTinyImage(daemon);
    replaceHosts([
      { id: "tb-a", name: "Toolbox A", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    db = await openTestDb();
    await db.execute(sql`truncate operation_history restart identity`);

    const fleet = getFleet();
    unsubscribe = fleet.subscribe((event) => {
      if (event.type === "operation") seen.push(event.operation);
    });
    await fleet.ready();
    const launched = await daemon.lxc(["launch", TINY_IMAGE_ALIAS, name]);
    if (launched.code !== 0) throw new Error(`lxc launch failed: ${launched.stderr}`);
  });

  beforeEach(async () => {
    await truncateTables(db);
  });

  afterAll(async () => {
    unsubscribe();
    getFleet().stop();
    if (db) await closeDb(db);
    await daemon?.stop();
  });

  it("records snapshot create, restore and delete", async () => {
    await createInstanceSnapshot(db, { ...actor, key: keyOf(name), name: "first" });
    await expectRecorded("instance.snapshot.create", name);

    await restoreInstanceSnapshot(db, { ...actor, key: keyOf(name), name: "first" });
    await expectRecorded("instance.snapshot.restore", name);

    await deleteInstanceSnapshot(db, { ...actor, key: keyOf(name), name: "first" });
    await expectRecorded("instance.snapshot.delete", name);
  });

  it("records each operation of a bulk action", async () => {
    const result = await runBulkAction(db, {
      ...actor,
      input: { action: "freeze", instances: [keyOf(name)] },
    });
    expect(result.items.map((item) => item.ok)).toEqual([true]);
    await expectRecorded("instance.freeze", name);

    await runBulkAction(db, { ...actor, input: { action: "unfreeze", instances: [keyOf(name)] } });
    await expectRecorded("instance.unfreeze", name);
  });

  it("records an incident's freeze and snapshot", async () => {
    const result = await respondToIncident(db, { ...actor, key: keyOf(name), reason: "test" });
    expect(result.freeze).toBe("frozen");

    await expectRecorded("instance.freeze", name);
    const snapshot = await expectRecorded("instance.snapshot.create", name);
    expect(snapshot.description).toMatch(/snapshot/i);
  });

  it("records a forced delete's stop and delete", async () => {
    const doomed = uniqueInstanceName("doomed");
    const launched = await daemon.lxc(["launch", TINY_IMAGE_ALIAS, doomed]);
    expect(launched.code, launched.stderr).toBe(0);

    await deleteInstanceAudited(db, { ...actor, key: keyOf(doomed), confirmName: doomed, force: true });

    const rows = (await history()).filter((row) => row.action === "instance.delete");
    expect(rows.map((row) => row.status)).toEqual(["success", "success"]);
    expect(rows.every((row) => row.instance === doomed)).toBe(true);
    expect(new Set(rows.map((row) => row.correlationId)).size).toBe(1);
    await expectRecorded("instance.delete", doomed);
  });

  it("records no operation for a change LXD rejects", async () => {
    const before = (await history()).length;
    const error = await caught(
      deleteInstanceSnapshot(db, { ...actor, key: keyOf(name), name: "missing" }),
    );

    expect((error as Error).message).toContain('delete snapshot "missing"');
    expect((await history()).length).toBe(before);
    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("instance.snapshot.delete");
    expect(outcome?.result).toBe("failure");
  });
});
