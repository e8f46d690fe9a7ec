import { EventEmitter } from "node:events";

import { describe, expect, it } from "vitest";
import type WebSocket from "ws";

import { LxdEventStream, parseLxdEvent } from "./events";
import { loadJson } from "./fixtures/load";
import type { LxdEvent } from "./types";

const recorded = loadJson("events.json") as unknown[];

describe("parseLxdEvent", () => {
  it("parses every recorded event", () => {
    const parsed = recorded.map((event) =>
      parseLxdEvent(JSON.stringify(event)),
    );

    expect(parsed.length).toBeGreaterThan(10);
    expect(parsed.filter((event) => event === null)).toEqual([]);
  });

  it("keeps the requestor of a lifecycle event", () => {
    const events = recorded
      .map((event) => parseLxdEvent(JSON.stringify(event)))
      .filter((event): event is LxdEvent => event !== null);
    const started = events.find(
      (event) =>
        event.type === "lifecycle" &&
        event.metadata.action === "instance-started",
    );

    expect(started?.type).toBe("lifecycle");
    if (started?.type !== "lifecycle") return;
    expect(started.metadata.source).toBe("/1.0/instances/idle-1");
    expect(started.metadata.requestor?.protocol).toBe("unix");
    expect(started.metadata.requestor?.username).toBe("root");
    expect(started.project).toBe("default");
  });

  it("parses an operation event into its operation", () => {
    const events = recorded
      .map((event) => parseLxdEvent(JSON.stringify(event)))
      .filter((event): event is LxdEvent => event !== null);
    const failure = events.find(
      (event) =>
        event.type === "operation" && event.metadata.status === "Failure",
    );

    expect(failure?.type).toBe("operation");
    if (failure?.type !== "operation") return;
    expect(failure.metadata.err).toMatch(/^Failed to run/);
    expect(failure.metadata.resources?.instances).toEqual([
      "/1.0/instances/broken-1",
    ]);
  });

  it.each([
    ["not JSON", "{"],
    ["a JSON array", "[]"],
    ["a missing type", JSON.stringify({ timestamp: "t", metadata: {} })],
    [
      "an unknown type",
      JSON.stringify({ type: "x", timestamp: "t", metadata: {} }),
    ],
    [
      "a missing timestamp",
      JSON.stringify({ type: "lifecycle", metadata: {} }),
    ],
    [
      "null metadata",
      JSON.stringify({ type: "lifecycle", timestamp: "t", metadata: null }),
    ],
  ])("rejects %s", (_case, text) => {
    expect(parseLxdEvent(text)).toBeNull();
  });
});

/** Stands in for a ws WebSocket: tests emit its events by hand. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  closedWith: number | null = null;

  close(code: number) {
    this.closedWith = code;
    this.readyState = 3;
    this.emit("close", code, Buffer.from(""));
  }

  terminate() {
    this.close(1006);
  }

  ping() {}
}

function streamOn(socket: FakeSocket, earlyMessages: Buffer[] = []) {
  return new LxdEventStream(socket as unknown as WebSocket, "fake LXD", {
    pingIntervalMs: 0,
    earlyMessages,
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("LxdEventStream", () => {
  const lifecycle = recorded.find(
    (event) => (event as { type: string }).type === "lifecycle",
  );
  const message = Buffer.from(JSON.stringify(lifecycle));

  it("delivers early messages to listeners added after creation", async () => {
    const socket = new FakeSocket();
    const stream = streamOn(socket, [message]);
    socket.emit("message", message);
    const received: LxdEvent[] = [];
    stream.on("event", (event) => received.push(event));

    await tick();

    expect(received).toHaveLength(2);
    expect(received[0]?.type).toBe("lifecycle");
  });

  it("emits close after the held events", async () => {
    const socket = new FakeSocket();
    const stream = streamOn(socket, [message]);
    const order: string[] = [];
    stream.on("event", () => order.push("event"));
    stream.on("close", () => order.push("close"));

    socket.emit("close", 1006, Buffer.from(""));
    await tick();
    await tick();

    expect(order).toEqual(["event", "close"]);
  });

  it("skips malformed messages", async () => {
    const socket = new FakeSocket();
    const stream = streamOn(socket);
    const received: LxdEvent[] = [];
    stream.on("event", (event) => received.push(event));
    await tick();

    socket.emit("message", Buffer.from("not json"));
    socket.emit("message", message);

    expect(received).toHaveLength(1);
  });

  it("closes the socket with code 1000", async () => {
    const socket = new FakeSocket();
    const stream = streamOn(socket);
    const closed = new Promise((resolve) => stream.once("close", resolve));
    await tick();

    stream.close();

    expect(socket.closedWith).toBe(1000);
    await expect(closed).resolves.toEqual({ code: 1000, reason: "" });
  });

  it("emits close only once", async () => {
    const socket = new FakeSocket();
    const stream = streamOn(socket);
    let closes = 0;
    stream.on("close", () => closes++);
    await tick();

    socket.emit("close", 1000, Buffer.from(""));
    socket.emit("close", 1000, Buffer.from(""));

    expect(closes).toBe(1);
  });
});
