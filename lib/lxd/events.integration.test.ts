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

import { LxdClient } from "./client";
import { openEventStream, type LxdEventStream } from "./events";
import { changeInstanceState } from "./instances";
import { waitForOperation } from "./operations";
import type { LxdEvent, LxdLifecycleEvent } from "./types";

/** Resolves with the first event that matches, or rejects after timeoutMs. */
function nextEvent<T extends LxdEvent>(
  stream: LxdEventStream,
  matches: (event: LxdEvent) => event is T,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off("event", onEvent);
      reject(new Error(`No matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (event: LxdEvent) => {
      if (!matches(event)) return;
      clearTimeout(timer);
      stream.off("event", onEvent);
      resolve(event);
    };
    stream.on("event", onEvent);
  });
}

function lifecycleOf(action: string, name: string) {
  return (event: LxdEvent): event is LxdLifecycleEvent =>
    event.type === "lifecycle" &&
    event.metadata.action === action &&
    event.metadata.source === `/1.0/instances/${name}`;
}

describe.skipIf(lxdDaemon === null)(integrationTitle("event stream"), () => {
  const clients: LxdClient[] = [];
  const created: string[] = [];

  beforeAll(() => {
    const daemon = requireDaemon();
    clients.push(
      new LxdClient({ kind: "unix", socketPath: daemon.socketPath }),
    );
    clients.push(new LxdClient(daemon.httpsEndpoint));
  });

  afterAll(async () => {
    await deleteInstances(created);
    for (const client of clients) await client.close();
  });

  it("delivers a start done with the lxc CLI", async () => {
    const name = uniqueInstanceName("ev");
    created.push(name);
    await createTinyInstance(name, { start: false });
    const stream = await openEventStream(clients[0]!, {
      types: ["lifecycle", "operation"],
      allProjects: true,
    });

    try {
      const started = nextEvent(stream, lifecycleOf("instance-started", name));
      await lxc(["start", name]);
      const event = await started;

      expect(event.project).toBe("default");
      expect(event.metadata.requestor?.protocol).toBe("unix");
      expect(event.metadata.requestor?.username).toBe("root");
    } finally {
      stream.close();
    }
  });

  it("delivers events of other projects", async () => {
    const project = uniqueInstanceName("proj");
    const name = uniqueInstanceName("ev");
    // The project shares the default project's images and profiles.
    await lxc([
      "project",
      "create",
      project,
      "-c",
      "features.images=false",
      "-c",
      "features.profiles=false",
    ]);
    const stream = await openEventStream(clients[0]!, { allProjects: true });

    try {
      const created = nextEvent(
        stream,
        (event): event is LxdLifecycleEvent =>
          event.type === "lifecycle" &&
          event.metadata.action === "instance-created" &&
          event.project === project,
      );
      await lxc([
        "init",
        requireDaemon().imageAlias,
        name,
        "--project",
        project,
      ]);
      const event = await created;

      expect(event.metadata.source).toBe(
        `/1.0/instances/${name}?project=${project}`,
      );
    } finally {
      stream.close();
      await lxc(["delete", "--force", "--project", project, name]).catch(
        () => "",
      );
      await lxc(["project", "delete", project]);
    }
  });

  it("names the certificate of an HTTPS requestor", async () => {
    const name = uniqueInstanceName("ev");
    created.push(name);
    await createTinyInstance(name, { start: false });
    const https = clients[1]!;
    const stream = await openEventStream(https);

    try {
      const started = nextEvent(stream, lifecycleOf("instance-started", name));
      const operation = await changeInstanceState(
        https,
        { project: "default", name },
        "start",
      );
      await waitForOperation(https, operation, { timeoutMs: 30_000 });
      const event = await started;

      expect(event.metadata.requestor?.protocol).toBe("tls");
      expect(event.metadata.requestor?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      stream.close();
    }
  });

  it("delivers operation events", async () => {
    const name = uniqueInstanceName("ev");
    created.push(name);
    await createTinyInstance(name);
    const stream = await openEventStream(clients[0]!, { types: ["operation"] });

    try {
      const finished = nextEvent(
        stream,
        (event): event is LxdEvent =>
          event.type === "operation" &&
          event.metadata.status === "Success" &&
          (event.metadata.resources?.instances ?? []).includes(
            `/1.0/instances/${name}`,
          ),
      );
      await lxc(["stop", name]);
      const event = await finished;

      expect(event.type).toBe("operation");
    } finally {
      stream.close();
    }
  });

  it("emits close once after close()", async () => {
    const stream = await openEventStream(clients[0]!);
    const closed = new Promise<{ code: number }>((resolve) =>
      stream.once("close", resolve),
    );

    stream.close();

    expect((await closed).code).toBe(1000);
  });
});
