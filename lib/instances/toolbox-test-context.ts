import { afterAll, beforeAll, beforeEach } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { replaceHosts } from "@/lib/hosts/registry";
import {
  createTinyInstance,
  deleteInstances,
  lxc,
  requireDaemon,
} from "@/test/harness/lxd-test-context";

import type { InstanceKey } from "./types";

// Shared set-up of the integration tests of the instance toolbox. Not
// imported by the application.

export const testActor = { id: "test-user", email: "tester@console.localhost" };

/** Returns the key of an instance on the test daemon, registered as host "test". */
export function testKey(name: string): InstanceKey {
  return { host: "test", project: "default", name };
}

/**
 * Registers hooks that point host "test" at the test daemon, open the test
 * database, create the given tiny instances (started unless `start` is
 * false), empty the tables before each test, and delete the instances at
 * the end. Returns a getter for the database.
 */
export function useToolboxTestContext(
  instances: Array<{ name: string; start?: boolean }>,
): () => Db {
  let db: Db | null = null;

  beforeAll(async () => {
    const daemon = requireDaemon();
    replaceHosts([
      { id: "test", name: "Test LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    db = await openTestDb();
    for (const { name, start } of instances) {
      await createTinyInstance(name, { start });
    }
  });

  beforeEach(async () => {
    await truncateTables(currentDb());
  });

  afterAll(async () => {
    await deleteInstances(instances.map(({ name }) => name));
    if (db) await closeDb(db);
  });

  function currentDb(): Db {
    if (db === null) throw new Error("the test database is not open yet");
    return db;
  }
  return currentDb;
}

/** Returns the status column of `lxc list`, such as RUNNING, or "" when missing. */
export async function instanceStatus(name: string): Promise<string> {
  return (await lxc(["list", `^${name}$`, "--format", "csv", "--columns", "s"])).trim();
}

/** Returns one config key of an instance as `lxc config get` prints it. */
export async function configValue(name: string, key: string): Promise<string> {
  return (await lxc(["config", "get", name, key])).trim();
}
