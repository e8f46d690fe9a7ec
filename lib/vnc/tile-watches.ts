import type { InstanceKey } from "@/lib/instances/types";

import type { VncBridgeSummary } from "./bridge";
import { vncSessionKey } from "./types";

/**
 * How long a tile watch stays open after its last connection ended. A tile
 * scrolled off screen disconnects after 1.5 s. A re-rendered or reloaded
 * wall mounts its tiles with new view ids. Within this window both continue
 * the same watch instead of opening a new one.
 */
export const TILE_WATCH_WINDOW_MS = 60_000;

/** The identity of one watch: the user, the sandbox and the client address. */
export interface TileWatcher {
  key: InstanceKey;
  userId: string;
  sourceAddress: string | null;
}

/** The totals of one watch, for its closing audit row. */
export interface TileWatchRecord {
  /** Correlation id of the watch's "vnc.view.open" rows. */
  correlationId: string;
  /** View id of the first tile connection. */
  firstViewId: string;
  /** Tile connections that opened, the first one included. */
  connections: number;
  /** Tile connections that joined the watch but failed to open. */
  failedConnections: number;
  /** From the first connection's start to the last one's end, in ms. */
  durationMs: number;
  /** Time with at least one tile connection open or opening, in ms. */
  watchedMs: number;
  bytesToClient: number;
  bytesFromClient: number;
  droppedMessages: number;
  /** End reason of the last connection, or "console_stopped" for one cut by a stopping console. */
  lastReason: VncBridgeSummary["reason"] | "console_stopped" | null;
}

/**
 * One user's tiles of one sandbox seen from one client address, from the
 * first tile connection until `TILE_WATCH_WINDOW_MS` after the last one
 * ended. Every tile connection keeps the watch open while it opens and runs.
 */
export class TileWatch {
  correlationId = "";
  /** Settles once the first connection opened (true) or failed (false). */
  readonly ready: Promise<boolean>;
  private settleReady!: (opened: boolean) => void;
  /** Settles once the watch has closed and its close record is handled. */
  readonly settled: Promise<void>;
  private settle!: () => void;
  private opened = false;
  private holders = 0;
  private readonly startedAt = Date.now();
  private activeSince: number | null = null;
  private watchedMs = 0;
  private lastEndedAt = this.startedAt;
  private closeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly totals = {
    connections: 0,
    failedConnections: 0,
    bytesToClient: 0,
    bytesFromClient: 0,
    droppedMessages: 0,
    lastReason: null as TileWatchRecord["lastReason"],
  };

  constructor(
    readonly firstViewId: string,
    private readonly windowMs: number,
    private readonly onClose: (record: TileWatchRecord) => Promise<void>,
    private readonly onForget: () => void,
  ) {
    this.ready = new Promise((resolve) => {
      this.settleReady = resolve;
    });
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Whether the watch has closed, so a new connection needs a new one. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Counts a connection that starts opening, and keeps the watch open. */
  hold(): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    if (this.holders === 0) this.activeSince = Date.now();
    this.holders += 1;
  }

  /** Marks the first connection's open as audited and done. */
  markOpened(correlationId: string): void {
    this.correlationId = correlationId;
    this.opened = true;
    this.settleReady(true);
  }

  /**
   * Marks the first connection as failed. The watch is forgotten and
   * writes no close row, because its open rows already record the failure.
   */
  markFailed(): void {
    this.closed = true;
    this.onForget();
    this.settleReady(false);
    this.settle();
  }

  /**
   * Ends one connection's hold: `summary` for a connection that ran, null
   * for one that failed to open. The watch closes `windowMs` after its last
   * hold ended, unless another connection holds it by then.
   */
  release(summary: VncBridgeSummary | null): void {
    if (summary) {
      this.totals.connections += 1;
      this.totals.bytesToClient += summary.bytesToClient;
      this.totals.bytesFromClient += summary.bytesFromClient;
      this.totals.droppedMessages += summary.droppedMessages;
      this.totals.lastReason = summary.reason;
    } else {
      this.totals.failedConnections += 1;
    }

    this.holders = Math.max(0, this.holders - 1);
    if (this.holders > 0 || this.closed || !this.opened) return;

    this.lastEndedAt = Date.now();
    if (this.activeSince !== null) this.watchedMs += this.lastEndedAt - this.activeSince;
    this.activeSince = null;
    this.closeTimer = setTimeout(() => void this.close(), this.windowMs);
    // A watch waiting to close must not keep a stopping process alive.
    this.closeTimer.unref();
  }

  /**
   * Closes the watch now if no connection holds it. Settles once its close
   * record is handled; false when it stays open.
   */
  async closeIfIdle(): Promise<boolean> {
    if (this.closed || this.holders > 0 || !this.opened) return false;
    await this.close();
    return true;
  }

  /**
   * Closes the watch now, even while connections hold it, as when the
   * console stops. Their time so far counts as watched, and the record's
   * last reason is "console_stopped".
   */
  async closeNow(): Promise<void> {
    if (this.closed || !this.opened) return;
    if (this.holders > 0) {
      const now = Date.now();
      if (this.activeSince !== null) this.watchedMs += now - this.activeSince;
      this.activeSince = null;
      this.lastEndedAt = now;
      this.totals.lastReason = "console_stopped";
    }
    await this.close();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.onForget();
    try {
      await this.writeRecord();
    } finally {
      this.settle();
    }
  }

  private async writeRecord(): Promise<void> {
    await this.onClose({
      correlationId: this.correlationId,
      firstViewId: this.firstViewId,
      connections: this.totals.connections,
      failedConnections: this.totals.failedConnections,
      durationMs: this.lastEndedAt - this.startedAt,
      watchedMs: this.watchedMs,
      bytesToClient: this.totals.bytesToClient,
      bytesFromClient: this.totals.bytesFromClient,
      droppedMessages: this.totals.droppedMessages,
      lastReason: this.totals.lastReason,
    });
  }
}

/**
 * The open tile watches, so that the sessions wall writes audit rows per
 * user, sandbox and client address rather than per tile connection.
 * Scrolling, re-rendering or reloading the wall reconnects tiles many times
 * a minute, and each connection's own rows would bury what was watched.
 */
export class TileWatchLog {
  /** How long a watch waits for another connection after its last one, in ms. */
  windowMs = TILE_WATCH_WINDOW_MS;
  private readonly watches = new Map<string, TileWatch>();

  /** Returns the watch that a connection of `watcher` would join, or null. */
  find(watcher: TileWatcher): TileWatch | null {
    const watch = this.watches.get(watchKey(watcher));
    return watch && !watch.isClosed ? watch : null;
  }

  /**
   * Starts a watch for `watcher`, held by its first connection. `onClose`
   * receives the record once it closes.
   */
  start(
    watcher: TileWatcher,
    firstViewId: string,
    onClose: (record: TileWatchRecord) => Promise<void>,
  ): TileWatch {
    const id = watchKey(watcher);
    const watch: TileWatch = new TileWatch(firstViewId, this.windowMs, onClose, () => {
      if (this.watches.get(id) === watch) this.watches.delete(id);
    });
    this.watches.set(id, watch);
    watch.hold();
    return watch;
  }

  /**
   * Closes every watch that no connection holds, as at shutdown, and
   * returns how many closed once their records are handled.
   */
  async closeIdle(): Promise<number> {
    const results = await Promise.all(
      [...this.watches.values()].map((watch) => watch.closeIfIdle()),
    );
    return results.filter(Boolean).length;
  }

  /** Number of watches open or waiting to close. */
  get size(): number {
    return this.watches.size;
  }
}

function watchKey(watcher: TileWatcher): string {
  return `${watcher.userId}|${watcher.sourceAddress ?? ""}|${vncSessionKey(watcher.key)}`;
}

const globalWatches = globalThis as typeof globalThis & {
  [key: symbol]: TileWatchLog | undefined;
};
const watchesKey = Symbol.for("sandbox-console.vnc-tile-watches");

/** Returns the process's tile watch log, kept on globalThis like the registry. */
export function getTileWatches(): TileWatchLog {
  let watches = globalWatches[watchesKey];
  if (!watches) {
    watches = new TileWatchLog();
    globalWatches[watchesKey] = watches;
  }
  return watches;
}
