import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { replaceHosts } from "@/lib/hosts/registry";
import { caught } from "@/test/harness/caught";
import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { deleteInstanceAudited } from "./delete";

const actor = { id: "test-user", email: "tester@console.localhost" };

async function status(name: string): Promise<string> {
  return (await lxc(["list", `^${name}$`, "--format", "csv", "--columns", "s"])).trim();
}

describe.skipIf(lxdDaemon === null)(integrationTitle("instance delete"), () => {
  let db: Db;
  const running = uniqueInstanceName("del");
  const stopped = uniqueInstanceName("del");
  const key = (name: string) => ({ host: "test", project: "default", name });

  beforeAll(async () => {
    const daemon = requireDaemon();
    replaceHosts([
      { id: "test", name: "Test LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    db = await openTestDb();
    await createTinyInstance(running);
    await createTinyInstance(stopped, { start: false });
  });

  beforeEach(async () => {
    await truncateTables(db);
  });

  afterAll(async () => {
    await deleteInstances([running, stopped]);
    await closeDb(db);
  });

  it("refuses a wrong confirmation name", async () => {
    const error = await caught(
      deleteInstanceAudited(db, { actor, key: key(stopped), confirmName: "something-else" }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain(`Type the instance name "${stopped}"`);
    expect((error as ConsoleError).message).toContain('"something-else"');
    expect(await status(stopped)).toBe("STOPPED");

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.action).toBe("instance.delete");
    expect(outcome?.result).toBe("failure");
  });

  it("refuses a running instance without force", async () => {
    const error = await caught(
      deleteInstanceAudited(db, { actor, key: key(running), confirmName: running }),
    );
    expect((error as ConsoleError).code).toBe("conflict");
    expect((error as ConsoleError).message).toContain("is running");
    expect((error as ConsoleError).message).toContain("forced delete");
    expect(await status(running)).toBe("RUNNING");
  });

  it("deletes a stopped instance", async () => {
    await deleteInstanceAudited(db, { actor, key: key(stopped), confirmName: stopped });
    expect(await status(stopped)).toBe("");

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.result).toBe("success");
    expect(outcome?.params).toMatchObject({ force: false, status: "Stopped" });
  });

  it("force-deletes a running instance", async () => {
    await deleteInstanceAudited(db, { actor, key: key(running), confirmName: running, force: true });
    expect(await status(running)).toBe("");

    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.result).toBe("success");
    expect(outcome?.params).toMatchObject({ force: true, status: "Running" });
  });

  it("reports a missing instance", async () => {
    const error = await caught(
      deleteInstanceAudited(db, { actor, key: key(running), confirmName: running }),
    );
    expect((error as ConsoleError).code).toBe("not_found");
    const [outcome] = await listAuditEvents(db, { limit: 1 });
    expect(outcome?.result).toBe("failure");
  });
});
