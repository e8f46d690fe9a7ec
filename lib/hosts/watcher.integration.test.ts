import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";
import { replaceHosts } from "./registry";
import { Fleet, type FleetEvent } from "./watcher";

/** Resolves with the first event that matches, or rejects after `timeoutMs`. */
function nextEvent(
  fleet: Fleet,
  match: (event: FleetEvent) => boolean,
  timeoutMs = 5_000,
): Promise<FleetEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = fleet.subscribe((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

describe.skipIf(lxdDaemon === null)(integrationTitle("Fleet"), () => {
  let fleet: Fleet;
  const name = uniqueInstanceName("watch");

  beforeAll(async () => {
    const daemon = requireDaemon();
    await createTinyInstance(name);
    replaceHosts([
      { id: "test", name: "Test LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
      {
        id: "gone",
        name: "Missing socket",
        endpoint: { kind: "unix", socketPath: "/nonexistent/sandbox-console/unix.socket" },
      },
    ]);
    fleet = new Fleet();
    await fleet.ready();
  });

  afterAll(async () => {
    fleet.stop();
    await deleteInstances([name]);
  });

  it("lists the reachable host's instances", () => {
    const instance = fleet.instances().find((candidate) => candidate.name === name);
    expect(instance?.host).toBe("test");
    expect(instance?.status).toBe("Running");
  });

  it("marks the host with a missing socket unreachable", () => {
    const hosts = Object.fromEntries(fleet.hosts().map((host) => [host.id, host]));
    expect(hosts.test?.state).toBe("online");
    expect(hosts.gone?.state).toBe("unreachable");
    expect(hosts.gone?.error).toContain("/nonexistent/sandbox-console/unix.socket");
  });

  it("sees a stop and start made with the lxc CLI", async () => {
    const stopped = nextEvent(
      fleet,
      (event) =>
        event.type === "instance" &&
        event.instance.name === name &&
        event.instance.status === "Stopped",
    );
    await lxc(["stop", "--force", name]);
    await stopped;
    expect(fleet.instances().find((i) => i.name === name)?.status).toBe("Stopped");

    const started = nextEvent(
      fleet,
      (event) =>
        event.type === "instance" &&
        event.instance.name === name &&
        event.instance.status === "Running",
    );
    await lxc(["start", name]);
    await started;
    expect(fleet.instances().find((i) => i.name === name)?.status).toBe("Running");
  });

  it("drops a deleted instance and picks up a new one", async () => {
    const extra = uniqueInstanceName("extra");
    const added = nextEvent(
      fleet,
      (event) => event.type === "instance" && event.instance.name === extra,
    );
    await createTinyInstance(extra, { start: false });
    await added;

    const removed = nextEvent(
      fleet,
      (event) => event.type === "instance-removed" && event.key.name === extra,
    );
    await deleteInstances([extra]);
    await removed;
    expect(fleet.instances().some((i) => i.name === extra)).toBe(false);
  });
});
