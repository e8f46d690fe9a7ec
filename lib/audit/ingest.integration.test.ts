import { and, asc, eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { replaceHosts } from "@/lib/hosts/registry";
import { Fleet } from "@/lib/hosts/watcher";
import { changeInstanceState } from "@/lib/instances/lifecycle";
import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { LxdEventIngester } from "./ingest";

const HOST = "ingest";

describe.skipIf(lxdDaemon === null)(integrationTitle("LXD event ingest"), () => {
  const name = uniqueInstanceName("ingest");
  let db: Db;
  let fleet: Fleet;
  let ingester: LxdEventIngester;

  beforeAll(async () => {
    const daemon = requireDaemon();
    db = await openTestDb();
    await truncateTables(db);
    await createTinyInstance(name, { start: false });
    replaceHosts([
      { id: HOST, name: "Ingest LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    fleet = new Fleet();
    await fleet.ready();
    ingester = new LxdEventIngester(db);
    ingester.start(fleet);
  });

  afterAll(async () => {
    ingester?.stop();
    fleet?.stop();
    await deleteInstances([name]);
    await closeDb(db);
  });

  /** Returns the ingested rows of this test's instance, oldest first. */
  async function lxdRows() {
    await ingester.flush();
    return db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.instance, name), like(auditEvents.action, "lxd.%")))
      .orderBy(asc(auditEvents.id));
  }

  async function waitForRows(count: number) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = await lxdRows();
      if (rows.length >= count || Date.now() > deadline) return rows;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it("records lxc CLI actions with their requestor", async () => {
    await lxc(["start", name]);
    const rows = await waitForRows(1);

    const started = rows.find((row) => row.action === "lxd.instance-started");
    expect(started?.actor).toBe("lxd:root");
    expect(started?.host).toBe(HOST);
    expect(started?.project).toBe("default");
    expect(started?.phase).toBe("event");
    expect(started?.params).toMatchObject({
      requestor: { username: "root", protocol: "unix" },
    });
    // Matched to the "Starting instance" operation of the same instance.
    expect(started?.operationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("records a console action once, under the console's own rows", async () => {
    const before = (await lxdRows()).length;
    await changeInstanceState(db, {
      actor: { id: "user-1", email: "admin@example.com" },
      key: { host: HOST, project: "default", name },
      action: "stop",
      force: true,
    });
    // The stop's lifecycle event arrives within a second; give it longer.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect((await lxdRows()).length).toBe(before);
    const [outcome] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "instance.stop"), eq(auditEvents.phase, "outcome")));
    expect(outcome?.result).toBe("success");
    expect(outcome?.operationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
