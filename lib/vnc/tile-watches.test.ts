import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { VncBridgeSummary } from "./bridge";
import { TileWatchLog, type TileWatchRecord } from "./tile-watches";

const watcher = {
  key: { host: "local", project: "default", name: "agent-1" },
  userId: "u1",
  sourceAddress: "127.0.0.1",
};

function summary(bytesToClient: number): VncBridgeSummary {
  return {
    reason: "client_closed",
    bytesFromClient: 10,
    bytesToServer: 10,
    bytesToClient,
    droppedMessages: 0,
    updateRequestsToServer: 1,
    delayedUpdateRequests: 0,
    exitCode: 0,
    clientCloseCode: 1005,
  };
}

describe("TileWatchLog", () => {
  let log: TileWatchLog;
  let records: TileWatchRecord[];
  const record = async (closed: TileWatchRecord) => {
    records.push(closed);
  };

  beforeEach(() => {
    vi.useFakeTimers();
    log = new TileWatchLog();
    log.windowMs = 60_000;
    records = [];
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("joins reconnects within the window into one record", () => {
    const watch = log.start(watcher, "view-1", record);
    watch.markOpened("corr-1");
    vi.advanceTimersByTime(5_000);
    watch.release(summary(100));

    // A scroll back or a re-render 30 s later finds the same watch.
    vi.advanceTimersByTime(30_000);
    const joined = log.find(watcher);
    expect(joined).toBe(watch);
    joined!.hold();
    vi.advanceTimersByTime(10_000);
    joined!.release(summary(50));
    expect(records).toEqual([]);

    vi.advanceTimersByTime(60_000);
    expect(records).toEqual([
      expect.objectContaining({
        correlationId: "corr-1",
        firstViewId: "view-1",
        connections: 2,
        failedConnections: 0,
        bytesToClient: 150,
        watchedMs: 15_000,
        durationMs: 45_000,
        lastReason: "client_closed",
      }),
    ]);
    expect(log.find(watcher)).toBeNull();
    expect(log.size).toBe(0);
  });

  it("stays open while any connection holds it", () => {
    const watch = log.start(watcher, "view-1", record);
    watch.markOpened("corr-1");
    watch.hold();
    watch.release(summary(1));
    vi.advanceTimersByTime(120_000);
    expect(records).toEqual([]);

    watch.release(summary(1));
    vi.advanceTimersByTime(60_000);
    expect(records.map((closed) => closed.connections)).toEqual([2]);
  });

  it("keeps users, addresses and sandboxes apart", () => {
    log.start(watcher, "view-1", record).markOpened("corr-1");
    expect(log.find({ ...watcher, userId: "u2" })).toBeNull();
    expect(log.find({ ...watcher, sourceAddress: "10.0.0.9" })).toBeNull();
    expect(log.find({ ...watcher, key: { ...watcher.key, name: "agent-2" } })).toBeNull();
    expect(log.find(watcher)).not.toBeNull();
  });

  it("forgets a watch whose first connection failed, without a record", async () => {
    const watch = log.start(watcher, "view-1", record);
    watch.markFailed();
    expect(await watch.ready).toBe(false);
    expect(log.find(watcher)).toBeNull();
    vi.advanceTimersByTime(120_000);
    expect(records).toEqual([]);
  });

  it("counts joined connections that failed to open", () => {
    const watch = log.start(watcher, "view-1", record);
    watch.markOpened("corr-1");
    watch.hold();
    watch.release(null);
    watch.release(summary(7));
    vi.advanceTimersByTime(60_000);
    expect(records).toEqual([
      expect.objectContaining({ connections: 1, failedConnections: 1, bytesToClient: 7 }),
    ]);
  });

  it("closes a held watch at shutdown", async () => {
    const watch = log.start(watcher, "view-1", record);
    watch.markOpened("corr-1");
    vi.advanceTimersByTime(4_000);

    await watch.closeNow();
    await watch.settled;
    expect(records).toEqual([
      expect.objectContaining({
        correlationId: "corr-1",
        connections: 0,
        watchedMs: 4_000,
        durationMs: 4_000,
        lastReason: "console_stopped",
      }),
    ]);
    expect(log.find(watcher)).toBeNull();

    // The connection's own end afterwards writes no second record.
    watch.release(summary(1));
    vi.advanceTimersByTime(120_000);
    expect(records).toHaveLength(1);
  });

  it("skips an unopened watch at shutdown", async () => {
    const watch = log.start(watcher, "view-1", record);
    await watch.closeNow();
    expect(records).toEqual([]);
    expect(watch.isClosed).toBe(false);
  });

  it("closes idle watches at once on shutdown", async () => {
    const idle = log.start(watcher, "view-1", record);
    idle.markOpened("corr-1");
    idle.release(summary(1));
    const busy = log.start({ ...watcher, userId: "u2" }, "view-2", record);
    busy.markOpened("corr-2");

    expect(await log.closeIdle()).toBe(1);
    expect(records.map((closed) => closed.correlationId)).toEqual(["corr-1"]);
    expect(log.size).toBe(1);
  });
});
