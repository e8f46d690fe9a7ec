import { EventEmitter } from "node:events";

import type WebSocket from "ws";

import { log } from "@/lib/log";

import type { LxdClient } from "./client";
import type { LxdEvent, LxdEventType } from "./types";

export interface OpenEventStreamOptions {
  /** Event types to receive, by default lifecycle and operation. */
  types?: LxdEventType[];
  /** Receive the events of every project (the default). */
  allProjects?: boolean;
  /** Project to receive events of when allProjects is false. */
  project?: string;
  /**
   * Interval of WebSocket pings in milliseconds, or 0 for none. A connection
   * without a pong before the next ping is closed, so a dead host is noticed.
   */
  pingIntervalMs?: number;
}

interface LxdEventStreamEvents {
  event: [LxdEvent];
  error: [Error];
  close: [{ code: number; reason: string }];
}

const eventTypes = new Set<string>(["lifecycle", "operation", "logging"]);

const eventLog = log.child({ component: "lxd-events" });

/**
 * One open /1.0/events WebSocket. Emits `event` for each parsed event,
 * `error` when the connection fails, and `close` once when it ends for any
 * reason. It does not reconnect: the caller opens a new stream and
 * refetches what it may have missed.
 */
export class LxdEventStream extends EventEmitter<LxdEventStreamEvents> {
  private readonly socket: WebSocket;
  private readonly where: string;
  private pingTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private malformedCount = 0;
  // Messages held back until the caller has had a chance to add listeners.
  private held: WebSocket.RawData[] | null;

  /**
   * Takes over an open events WebSocket. `earlyMessages` are messages that
   * arrived before this object existed, and they are emitted first.
   */
  constructor(
    socket: WebSocket,
    where: string,
    options: { pingIntervalMs: number; earlyMessages?: WebSocket.RawData[] },
  ) {
    super();
    this.socket = socket;
    this.where = where;
    this.held = [...(options.earlyMessages ?? [])];

    // setImmediate runs after the caller's code that follows `await
    // openEventStream(...)`, where it subscribes to `event`.
    setImmediate(() => {
      const held = this.held ?? [];
      this.held = null;
      for (const data of held) this.handleMessage(data);
    });

    socket.on("message", (data) => this.handleMessage(data));
    socket.on("error", (error) => this.handleError(error));
    socket.on("close", (code, reason) => this.handleClose(code, reason));
    if (options.pingIntervalMs > 0) this.startPing(options.pingIntervalMs);
  }

  /** Closes the connection. `close` is emitted when it has ended. */
  close(): void {
    if (this.socket.readyState === this.socket.OPEN) {
      this.socket.close(1000, "closed by client");
    } else {
      this.socket.terminate();
    }
  }

  private handleMessage(data: WebSocket.RawData): void {
    if (this.held !== null) {
      this.held.push(data);
      return;
    }

    const text = rawToString(data);
    const event = parseLxdEvent(text);
    if (event === null) {
      this.malformedCount += 1;
      // Log the first malformed message and then every hundredth.
      if (this.malformedCount % 100 === 1) {
        eventLog.warn(
          {
            endpoint: this.where,
            count: this.malformedCount,
            sample: text.slice(0, 200),
          },
          "Ignoring malformed LXD event",
        );
      }
      return;
    }
    this.emit("event", event);
  }

  private handleError(error: Error): void {
    // Keep the order: held events first, then the error.
    if (this.held !== null) {
      setImmediate(() => this.handleError(error));
      return;
    }
    if (this.listenerCount("error") > 0) {
      this.emit("error", error);
    } else {
      eventLog.error(
        { endpoint: this.where, err: error },
        "LXD event stream failed",
      );
    }
  }

  private handleClose(code: number, reason: Buffer): void {
    if (this.held !== null) {
      setImmediate(() => this.handleClose(code, reason));
      return;
    }
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.emit("close", { code, reason: reason.toString("utf8") });
  }

  private startPing(intervalMs: number): void {
    let ponged = true;
    this.socket.on("pong", () => {
      ponged = true;
    });
    this.pingTimer = setInterval(() => {
      if (!ponged) {
        this.handleError(
          new Error(
            `${this.where} sent no pong within ${intervalMs} ms of a WebSocket ping`,
          ),
        );
        this.socket.terminate();
        return;
      }
      ponged = false;
      this.socket.ping();
    }, intervalMs);
    this.pingTimer.unref();
  }
}

/**
 * Opens GET /1.0/events as a WebSocket and resolves once it is connected,
 * so events of actions taken after this returns are delivered.
 */
export async function openEventStream(
  client: LxdClient,
  options: OpenEventStreamOptions = {},
): Promise<LxdEventStream> {
  const types = options.types ?? ["lifecycle", "operation"];
  const allProjects = options.allProjects ?? true;

  // LXD may send an event right after the upgrade, before the code after
  // `await client.websocket(...)` runs, so messages are caught from the start.
  const earlyMessages: WebSocket.RawData[] = [];
  const catchEarly = (data: WebSocket.RawData) => earlyMessages.push(data);
  const socket = await client.websocket(
    "/1.0/events",
    {
      type: types.join(","),
      "all-projects": allProjects ? true : undefined,
      project: allProjects ? undefined : options.project,
    },
    { setup: (created) => created.on("message", catchEarly) },
  );

  socket.off("message", catchEarly);
  return new LxdEventStream(socket, client.description, {
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    earlyMessages,
  });
}

/**
 * Parses one event message. Returns null for text that is not JSON or
 * lacks the fields every event has (type, timestamp, metadata object).
 */
export function parseLxdEvent(text: string): LxdEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }

  if (typeof value !== "object" || value === null) return null;
  const candidate = value as Record<string, unknown>;
  if (typeof candidate.type !== "string" || !eventTypes.has(candidate.type)) {
    return null;
  }
  if (typeof candidate.timestamp !== "string") return null;
  if (typeof candidate.metadata !== "object" || candidate.metadata === null) {
    return null;
  }
  return candidate as unknown as LxdEvent;
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
