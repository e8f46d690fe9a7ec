import { caught } from "@/test/harness/caught";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, createDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { replaceHosts } from "@/lib/hosts/registry";
import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";
import { changeInstanceState } from "./lifecycle";

const actor = { id: "test-user", email: "tester@console.localhost" };

async function status(name: string): Promise<string> {
  return (await lxc(["list", `^${name}$`, "--format", "csv", "--columns", "s"])).trim();
}


describe.skipIf(lxdDaemon === null)(integrationTitle("changeInstanceState"), () => {
  let db: Db;
  const name = uniqueInstanceName("life");

  beforeAll(async () => {
    const daemon = requireDaemon();
    replaceHosts([
      { id: "test", name: "Test LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    db = await openTestDb();
    await createTinyInstance(name);
  });

  beforeEach(async () => {
    await truncateTables(db);
  });

  afterAll(async () => {
    await deleteInstances([name]);
    await closeDb(db);
  });

  const key = () => ({ host: "test", project: "default", name });

  it("stops and starts with intent and outcome rows", async () => {
    await changeInstanceState(db, { actor, key: key(), action: "stop", force: true });
    expect(await status(name)).toBe("STOPPED");
    await changeInstanceState(db, { actor, key: key(), action: "start" });
    expect(await status(name)).toBe("RUNNING");

    const rows = await listAuditEvents(db, { limit: 10 });
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["instance.start", "outcome", "success"],
      ["instance.start", "intent", "pending"],
      ["instance.stop", "outcome", "success"],
      ["instance.stop", "intent", "pending"],
    ]);
    const stopOutcome = rows[2]!;
    expect(stopOutcome.actor).toBe(actor.email);
    expect(stopOutcome.instance).toBe(name);
    expect(stopOutcome.host).toBe("test");
    expect(stopOutcome.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(stopOutcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(stopOutcome.correlationId).toBe(rows[3]!.correlationId);
    expect(stopOutcome.params).toEqual({ force: true });
  });

  it("reports a missing instance and audits the failure", async () => {
    const missing = { ...key(), name: uniqueInstanceName("gone") };
    const error = await caught(
      changeInstanceState(db, { actor, key: missing, action: "start" }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("not_found");
    expect((error as ConsoleError).message).toContain(missing.name);

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toContain("does not exist");
  });

  it("reports starting a running instance with LXD's message", async () => {
    expect(await status(name)).toBe("RUNNING");
    const error = await caught(changeInstanceState(db, { actor, key: key(), action: "start" }));
    expect((error as ConsoleError).code).toBe("lxd_error");
    expect((error as ConsoleError).message).toMatch(/already running/i);
    expect(await status(name)).toBe("RUNNING");
  });

  it("rejects an unknown host before writing anything", async () => {
    const error = await caught(
      changeInstanceState(db, { actor, key: { ...key(), host: "nowhere" }, action: "stop" }),
    );
    expect((error as ConsoleError).code).toBe("not_found");
    expect((error as ConsoleError).message).toContain('Unknown host "nowhere"');
    expect(await listAuditEvents(db, { limit: 5 })).toEqual([]);
    expect(await status(name)).toBe("RUNNING");
  });

  it("refuses the action and leaves LXD untouched when the audit store is down", async () => {
    // Port 9 on loopback: nothing listens, so every connection is refused.
    const downDb = createDb("postgres://postgres@127.0.0.1:9/test");
    try {
      const error = await caught(
        changeInstanceState(downDb, { actor, key: key(), action: "stop", force: true }),
      );
      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as ConsoleError).code).toBe("audit_unavailable");
      expect(await status(name)).toBe("RUNNING");
    } finally {
      await closeDb(downDb);
    }
  });
});
