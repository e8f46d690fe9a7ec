import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

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

import { changeInstanceState } from "./lifecycle";

const actor = { id: "test-user", email: "tester@console.localhost" };

/**
 * A unix socket in front of the test daemon's socket that relays bytes both
 * ways until a request line matches `cutWhen`. It forwards that request to
 * LXD, drops LXD's response and closes the connection, which is what the
 * console sees when a host goes away in the middle of an action.
 */
interface CuttingProxy {
  socketPath: string;
  cutWhen: RegExp | null;
  cuts: number;
  close(): Promise<void>;
}

async function startCuttingProxy(upstreamPath: string): Promise<CuttingProxy> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lxd-cut-"));
  const socketPath = path.join(dir, "proxy.socket");
  const sockets = new Set<net.Socket>();

  const proxy: CuttingProxy = {
    socketPath,
    cutWhen: null,
    cuts: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };

  const server = net.createServer((client) => {
    const upstream = net.connect({ path: upstreamPath });
    sockets.add(client);
    sockets.add(upstream);
    let cut = false;

    client.on("data", (chunk) => {
      upstream.write(chunk);
      if (!cut && proxy.cutWhen?.test(chunk.toString("latin1"))) {
        cut = true;
        proxy.cuts += 1;
        // LXD has received the request, but the console never gets the response.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 300);
      }
    });
    upstream.on("data", (chunk) => {
      if (!cut) client.write(chunk);
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return proxy;
}

async function status(name: string): Promise<string> {
  return (
    await lxc(["list", `^${name}$`, "--format", "csv", "--columns", "s"])
  ).trim();
}

async function waitForStatus(name: string, expected: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  let current = await status(name);
  while (current !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    current = await status(name);
  }
  return current;
}

describe.skipIf(lxdDaemon === null)(
  integrationTitle("changeInstanceState with a lost connection"),
  () => {
    let db: Db;
    let proxy: CuttingProxy;
    const name = uniqueInstanceName("cut");
    const key = { host: "cut", project: "default", name };

    beforeAll(async () => {
      proxy = await startCuttingProxy(requireDaemon().socketPath);
      replaceHosts([
        {
          id: "cut",
          name: "LXD behind a cutting proxy",
          endpoint: { kind: "unix", socketPath: proxy.socketPath },
        },
      ]);
      db = await openTestDb();
      await createTinyInstance(name, { start: false });
    });

    beforeEach(async () => {
      await truncateTables(db);
      proxy.cutWhen = null;
      proxy.cuts = 0;
    });

    afterAll(async () => {
      replaceHosts([]);
      await proxy?.close();
      await deleteInstances([name]);
      await closeDb(db);
    });

    it("says the outcome is unknown when the wait is cut", async () => {
      if ((await status(name)) !== "STOPPED")
        await lxc(["stop", "--force", name]);
      proxy.cutWhen = /^GET \/1\.0\/operations\/[^/]+\/wait/m;

      const error = await caught(
        changeInstanceState(db, { actor, key, action: "start" }),
      );

      expect(proxy.cuts).toBe(1);
      expect(error).toBeInstanceOf(ConsoleError);
      const consoleError = error as ConsoleError;
      expect(consoleError.code).toBe("outcome_unknown");
      expect(consoleError.message).toContain(
        `The start of instance "${name}" in project "default" on host "cut" ` +
          "may or may not have happened",
      );
      expect(consoleError.message).toContain(
        "Check the instance's state before you try again.",
      );
      expect(consoleError.message).not.toMatch(/GET \/1\.0/);

      // LXD carried on without the console: the start did happen.
      expect(await waitForStatus(name, "RUNNING")).toBe("RUNNING");

      const [outcome] = await listAuditEvents(db, { limit: 1 });
      expect(outcome?.result).toBe("failure");
      expect(outcome?.operationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(outcome?.error).toContain("may or may not have happened");
    });

    it("says the outcome is unknown when the request is cut", async () => {
      if ((await status(name)) !== "RUNNING") await lxc(["start", name]);
      proxy.cutWhen = /^PUT \/1\.0\/instances\/[^/]+\/state/m;

      const error = await caught(
        changeInstanceState(db, { actor, key, action: "stop", force: true }),
      );

      expect(proxy.cuts).toBe(1);
      expect((error as ConsoleError).code).toBe("outcome_unknown");
      expect((error as ConsoleError).message).toContain(
        "may or may not have happened",
      );
      expect((error as ConsoleError).message).not.toMatch(/PUT \/1\.0/);
      expect(await waitForStatus(name, "STOPPED")).toBe("STOPPED");
    });
  },
);
