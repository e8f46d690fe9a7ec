import { caught } from "@/test/harness/caught";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { LxdClient } from "./client";
import { LxdError } from "./errors";
import {
  changeInstanceState,
  getInstance,
  getInstanceState,
  listInstances,
  toInstanceSummary,
  updateInstance,
} from "./instances";
import { waitForOperation } from "./operations";


describe.skipIf(lxdDaemon === null)(integrationTitle("instances"), () => {
  let client: LxdClient;
  const running = uniqueInstanceName("run");
  const stopped = uniqueInstanceName("idle");
  const created: string[] = [running, stopped];
  const ref = (name: string) => ({ project: "default", name });

  beforeAll(async () => {
    client = new LxdClient({
      kind: "unix",
      socketPath: requireDaemon().socketPath,
    });
    await createTinyInstance(running, {
      config: { "limits.memory": "128MiB" },
    });
    await createTinyInstance(stopped, { start: false });
  });

  afterAll(async () => {
    await deleteInstances(created);
    await client?.close();
  });

  it("lists instances of all projects with state", async () => {
    const instances = await listInstances(client, { allProjects: true });
    const byName = new Map(
      instances.map((instance) => [instance.name, instance]),
    );

    expect(byName.get(running)?.status).toBe("Running");
    expect(byName.get(running)?.state?.pid).toBeGreaterThan(0);
    expect(byName.get(stopped)?.status).toBe("Stopped");
    expect(byName.get(stopped)?.project).toBe("default");
  });

  it("lists one project", async () => {
    const names = (await listInstances(client, { project: "default" })).map(
      (instance) => instance.name,
    );

    expect(names).toContain(running);
    expect(names).toContain(stopped);
  });

  it("gets an instance with state, snapshots and ETag", async () => {
    const { instance, etag } = await getInstance(client, ref(running));

    expect(instance.name).toBe(running);
    expect(instance.state?.status).toBe("Running");
    expect(instance.snapshots ?? []).toEqual([]);
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);

    const summary = toInstanceSummary("local", instance);
    expect(summary.sandboxKind).toBe("test");
    expect(summary.usage?.memoryLimitBytes).toBe(128 * 1024 * 1024);
    expect(summary.usage?.memoryBytes).toBeGreaterThan(0);
  });

  it("gets the state of a running instance", async () => {
    const state = await getInstanceState(client, ref(running));

    expect(state.status).toBe("Running");
    expect(state.processes).toBeGreaterThanOrEqual(1);
    expect(state.network?.lo?.state).toBe("up");
  });

  it("starts and stops through operations", async () => {
    const start = await changeInstanceState(client, ref(stopped), "start");
    expect(start.class).toBe("task");
    await waitForOperation(client, start, { timeoutMs: 30_000 });
    expect((await getInstance(client, ref(stopped))).instance.status).toBe(
      "Running",
    );

    const stop = await changeInstanceState(client, ref(stopped), "stop", {
      timeout: 20,
    });
    const finished = await waitForOperation(client, stop, {
      timeoutMs: 30_000,
    });
    expect(finished.status).toBe("Success");
    expect((await getInstance(client, ref(stopped))).instance.status).toBe(
      "Stopped",
    );
  });

  it("sees a stop done with the lxc CLI", async () => {
    const name = uniqueInstanceName("cli");
    created.push(name);
    await createTinyInstance(name);
    expect((await getInstance(client, ref(name))).instance.status).toBe(
      "Running",
    );

    await lxc(["stop", name]);

    const { instance } = await getInstance(client, ref(name));
    expect(instance.status).toBe("Stopped");
    expect(instance.state?.pid).toBe(0);
  });

  it("surfaces LXD's message for a missing instance", async () => {
    const missing = uniqueInstanceName("missing");
    const error = await caught(
      changeInstanceState(client, ref(missing), "start"),
    );

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).status).toBe(404);
    expect((error as LxdError).lxdMessage).toBe("Instance not found");
    expect((error as LxdError).path).toBe(`/1.0/instances/${missing}/state`);
  });

  it("surfaces the error text of a failed operation", async () => {
    const name = uniqueInstanceName("broken");
    created.push(name);
    // LXC cannot execute a missing init, so the start fails in its operation.
    await createTinyInstance(name, {
      start: false,
      config: { "raw.lxc": "lxc.init.cmd = /nonexistent" },
    });

    const operation = await changeInstanceState(client, ref(name), "start");
    const error = await caught(
      waitForOperation(client, operation, { timeoutMs: 30_000 }),
    );

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).lxdMessage).toMatch(
      /^Failed to run: .*forkstart/,
    );
    expect((error as LxdError).operationId).toBe(operation.id);
  });

  it("rejects an update with a stale ETag", async () => {
    const { etag } = await getInstance(client, ref(stopped));
    expect(etag).not.toBeNull();

    // LXD's instance ETag covers config, devices, profiles, architecture and
    // the ephemeral flag, but not the description.
    await updateInstance(
      client,
      ref(stopped),
      { config: { "user.note": "first" } },
      { etag },
    );
    const error = await caught(
      updateInstance(
        client,
        ref(stopped),
        { config: { "user.note": "second" } },
        { etag },
      ),
    );

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).status).toBe(412);
    expect((error as LxdError).lxdMessage).toMatch(/ETag doesn't match/);
    const { instance } = await getInstance(client, ref(stopped));
    expect(instance.config["user.note"]).toBe("first");
  });

  it("times out waiting for an unfinished operation", async () => {
    // An exec that waits for its WebSockets stays running until they connect.
    const operation = await client.requestOperation(
      "POST",
      `/1.0/instances/${running}/exec`,
      {
        body: {
          command: ["sleep", "30"],
          interactive: false,
          "wait-for-websocket": true,
        },
      },
    );

    const startedAt = Date.now();
    const error = await caught(
      waitForOperation(client, operation, { timeoutMs: 1_000 }),
    );

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("timeout");
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it("rejects an invalid name before calling LXD", async () => {
    const error = await caught(getInstance(client, ref("bad_name")));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("invalid_input");
  });
});
