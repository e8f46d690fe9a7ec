import type WebSocket from "ws";

import { log } from "@/lib/log";
import {
  startExec,
  type ExecSession,
  type LxdClient,
  type LxdInstanceRef,
} from "@/lib/lxd";

import { RfbClientMessage, RfbInputFilter, type RfbSegment } from "./rfb-filter";
import { RfbTileThrottle } from "./rfb-tile-throttle";
import type { VncViewMode } from "./types";

/**
 * Connects to the VNC server of a browser sandbox, inside its container.
 * socat reads 8 KiB at a time by default. Reads of 64 KiB, the size of a
 * Linux pipe buffer, cut the LXD daemon's CPU time per relayed 5 MB frame by
 * about 40% (LXD 5.0.2 on 2 cores; larger reads gained nothing more).
 * `nodelay` turns Nagle's algorithm off, which would otherwise hold a key
 * release back until Xvnc acknowledges the press, up to 40 ms later.
 */
export const VNC_SERVER_COMMAND = [
  "socat",
  "-b",
  "65536",
  "-",
  "TCP:127.0.0.1:5900,nodelay",
];

// Output is paused while more than this many bytes wait in the browser's
// WebSocket, and resumed once less than the low mark waits. A 1440x900 raw
// frame at 32 bpp is about 5 MB.
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;

// Reading from the browser pauses while more than this many bytes wait in
// the tile throttle. noVNC sends a few bytes per interval, so only a
// misbehaving client gets near it.
const MAX_HELD_BYTES = 1024 * 1024;

// socat exits about 0.5 s after its stdin ends (its default -t timeout).
const EXIT_GRACE_MS = 2_000;
const SIGTERM = 15;
const SIGKILL = 9;

// Close codes from RFC 6455 section 7.4.1.
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_INTERNAL_ERROR = 1011;

const MAX_LOGGED_STDERR_BYTES = 2_048;

// The bridge pings the browser this often and drops a connection that sent
// no pong for the previous ping. A connection lost without a TCP reset is
// otherwise only noticed after the kernel's retransmissions give up, many
// minutes later, and its view would hold control until then.
const HEARTBEAT_INTERVAL_MS = 15_000;

export interface VncBridgeOptions {
  /**
   * Initial input state: true drops the client's key, pointer, clipboard
   * and resize messages. `VncBridge.setViewOnly` changes it later.
   */
  viewOnly: boolean;
  /**
   * "full" relays every frame. "tile" lets at most one incremental
   * FramebufferUpdateRequest per 500 ms reach the server, so the client
   * gets about two frames per second (see RfbTileThrottle).
   */
  mode: VncViewMode;
  /** Id of the console's LXD host, for the logs. */
  hostId: string;
}

/** Cause of a bridge's end. */
export type VncBridgeEndReason =
  "client_closed" | "server_closed" | "closed_by_console" | "protocol_error";

export interface VncBridgeSummary {
  reason: VncBridgeEndReason;
  /** Bytes the client sent, before view-only filtering. */
  bytesFromClient: number;
  /** Bytes written to the VNC server. */
  bytesToServer: number;
  /** Bytes the VNC server sent to the client. */
  bytesToClient: number;
  /** Client messages removed by view-only filtering. */
  droppedMessages: number;
  /** FramebufferUpdateRequests written to the VNC server. */
  updateRequestsToServer: number;
  /** Incremental update requests that tile mode held back for a while. */
  delayedUpdateRequests: number;
  /** Exit code of socat, or null when it had to be signalled or timed out. */
  exitCode: number | null;
  /**
   * WebSocket close code of the client's connection: 1000, 1001 or 1005
   * for a close on purpose, 1006 for a lost connection, including one that
   * missed a heartbeat. Null when the bridge closed it first.
   */
  clientCloseCode: number | null;
}

export interface VncBridge {
  /** Closes the browser's WebSocket and ends the exec. */
  close(): void;
  /**
   * Turns input off (true) or on (false). The change applies from the next
   * client message: a message already under way keeps the state it started
   * with to its end, so the server never receives a partial message.
   * NOTE: in tile mode, input that the throttle already holds still reaches
   * the server when it is released, up to 500 ms after the switch.
   */
  setViewOnly(viewOnly: boolean): void;
  readonly viewOnly: boolean;
  readonly mode: VncViewMode;
  /** Settles when both sides have ended. It never rejects. */
  ended: Promise<VncBridgeSummary>;
  readonly bytesFromClient: number;
  readonly bytesToServer: number;
  readonly bytesToClient: number;
  readonly droppedMessages: number;
  readonly updateRequestsToServer: number;
}

/**
 * Relays a browser's noVNC WebSocket to the sandbox's VNC server through a
 * non-interactive exec of socat, so no host port is opened. Throws the
 * exec's error after closing `socket` when socat cannot be started.
 */
export async function openVncBridge(
  client: LxdClient,
  ref: LxdInstanceRef,
  socket: WebSocket,
  options: VncBridgeOptions,
): Promise<VncBridge> {
  const bridgeLog = log.child({
    component: "vnc-bridge",
    host: options.hostId,
    project: ref.project,
    instance: ref.name,
  });

  // Messages may arrive while the exec starts, so they queue until then.
  const early: ClientMessage[] = [];
  const queueEarly = (data: WebSocket.RawData, isBinary: boolean) => {
    early.push({ data, isBinary });
  };
  socket.on("message", queueEarly);

  let session: ExecSession;
  const execStarted = performance.now();
  try {
    session = await startExec(client, ref, VNC_SERVER_COMMAND);
  } catch (error) {
    socket.off("message", queueEarly);
    bridgeLog.error({ err: error }, "failed to start socat for VNC");
    closeSocket(socket, CLOSE_INTERNAL_ERROR, "VNC server unreachable");
    throw error;
  }
  socket.off("message", queueEarly);

  const operationLog = bridgeLog.child({ operation: session.operation.id });
  const relay = new VncRelay(socket, session, options, operationLog);
  relay.start(early, Math.round(performance.now() - execStarted));
  return relay;
}

interface ClientMessage {
  data: WebSocket.RawData;
  isBinary: boolean;
}

class VncRelay implements VncBridge {
  readonly ended: Promise<VncBridgeSummary>;
  bytesFromClient = 0;
  bytesToServer = 0;
  bytesToClient = 0;
  readonly mode: VncViewMode;
  private readonly filter: RfbInputFilter;
  private readonly throttle: RfbTileThrottle | null;
  private fullModeRequests = 0;
  private releaseTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private clientCloseCode: number | null = null;
  private pausedForServer = false;
  private pausedForThrottle = false;
  private reason: VncBridgeEndReason | null = null;
  private resolveEnded!: (summary: VncBridgeSummary) => void;
  private stopping = false;
  private pendingToClient: Buffer[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly session: ExecSession,
    options: VncBridgeOptions,
    private readonly bridgeLog: typeof log,
  ) {
    this.mode = options.mode;
    // The filter runs even while input is allowed, so that input can be
    // switched off at a message boundary at any time.
    this.filter = new RfbInputFilter({ viewOnly: options.viewOnly });
    this.throttle = options.mode === "tile" ? new RfbTileThrottle() : null;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  get viewOnly(): boolean {
    return this.filter.viewOnly;
  }

  get droppedMessages(): number {
    return this.filter.droppedMessages;
  }

  get updateRequestsToServer(): number {
    return this.throttle?.forwardedRequests ?? this.fullModeRequests;
  }

  close(): void {
    this.stop("closed_by_console");
  }

  setViewOnly(viewOnly: boolean): void {
    if (this.filter.viewOnly === viewOnly) return;
    this.filter.viewOnly = viewOnly;
    this.bridgeLog.info({ viewOnly }, "VNC input switched");
  }

  /** Starts relaying. `execStartMs` is how long LXD took to start socat, for the log. */
  start(early: ClientMessage[], execStartMs: number): void {
    const { socket, session } = this;
    this.bridgeLog.info(
      { viewOnly: this.viewOnly, mode: this.mode, execStartMs },
      "VNC bridge opened",
    );

    // socat may exit first, and a write then fails like a write to a
    // closed pipe. The stdout end that follows ends the bridge.
    session.stdin.on("error", () => {});
    session.stdout.on("data", (chunk: Buffer) => this.sendToClient(chunk));
    session.stdout.on("end", () => this.stop("server_closed"));
    session.stdout.on("error", () => this.stop("server_closed"));
    this.logStderr();

    socket.on("message", (data, isBinary) => this.receive(data, isBinary));
    socket.on("close", (code) => {
      if (!this.stopping) this.clientCloseCode = code;
      this.stop("client_closed");
    });
    socket.on("pong", () => {
      this.awaitingPong = false;
    });
    this.heartbeatTimer = setInterval(() => this.heartbeat(), HEARTBEAT_INTERVAL_MS);
    socket.on("error", (error) => {
      this.bridgeLog.warn({ err: error }, "VNC client WebSocket failed");
    });

    for (const message of early) this.receive(message.data, message.isBinary);
    if (socket.readyState !== socket.OPEN) this.stop("client_closed");
  }

  /**
   * Forwards one WebSocket message of the client to socat's stdin, without
   * input while view-only, and throttled in tile mode.
   */
  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.stopping) return;
    if (!isBinary) {
      this.bridgeLog.warn("VNC client sent a text frame; closing");
      closeSocket(this.socket, CLOSE_UNSUPPORTED_DATA, "binary frames only");
      this.stop("protocol_error");
      return;
    }

    const bytes = toBuffer(data);
    this.bytesFromClient += bytes.length;
    let segments: RfbSegment[];
    try {
      segments = this.filter.segments(bytes);
    } catch (error) {
      this.bridgeLog.warn(
        { err: error },
        "VNC client sent data the RFB filter rejected; closing",
      );
      closeSocket(this.socket, CLOSE_POLICY_VIOLATION, "invalid RFB data");
      this.stop("protocol_error");
      return;
    }

    if (this.throttle === null) {
      for (const segment of segments) {
        if (
          segment.last &&
          segment.messageType === RfbClientMessage.FramebufferUpdateRequest
        ) {
          this.fullModeRequests += 1;
        }
        this.writeToServer(segment.bytes);
      }
      return;
    }

    this.writeToServer(this.throttle.accept(segments, performance.now()));
    this.scheduleRelease();
    if (this.throttle.heldBytes > MAX_HELD_BYTES) {
      this.pausedForThrottle = true;
      this.socket.pause();
    }
  }

  /** Pings the client, and cuts a connection that missed the last ping. */
  private heartbeat(): void {
    if (this.stopping) return;
    if (this.awaitingPong) {
      this.bridgeLog.warn(
        { intervalMs: HEARTBEAT_INTERVAL_MS },
        "VNC client missed a heartbeat; dropping its connection",
      );
      // terminate() emits "close" with 1006, as for any lost connection.
      this.socket.terminate();
      return;
    }
    this.awaitingPong = true;
    this.socket.ping();
  }

  private writeToServer(bytes: Buffer): void {
    if (bytes.length === 0) return;

    this.bytesToServer += bytes.length;
    // Stop reading from the browser while socat's stdin is behind.
    if (!this.session.stdin.write(bytes) && !this.pausedForServer) {
      this.pausedForServer = true;
      this.socket.pause();
      this.session.stdin.once("drain", () => {
        this.pausedForServer = false;
        this.resumeClient();
      });
    }
  }

  private resumeClient(): void {
    if (!this.pausedForServer && !this.pausedForThrottle) this.socket.resume();
  }

  /** Arms the timer that releases the tile throttle's held messages. */
  private scheduleRelease(): void {
    const releaseAt = this.throttle?.releaseAt ?? null;
    if (releaseAt === null || this.releaseTimer !== null || this.stopping) {
      return;
    }

    const delay = Math.max(0, Math.ceil(releaseAt - performance.now()));
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      if (this.stopping || this.throttle === null) return;

      this.writeToServer(this.throttle.release(performance.now()));
      if (this.pausedForThrottle && this.throttle.heldBytes <= MAX_HELD_BYTES) {
        this.pausedForThrottle = false;
        this.resumeClient();
      }
      this.scheduleRelease();
    }, delay);
  }

  /**
   * Queues output of socat for the browser. LXD relays each read of socat's
   * output as a message of its own, and several often arrive in one turn of
   * the event loop. They go to the browser as one message at the end of the
   * turn, which saves the bridge and the browser a message each.
   */
  private sendToClient(chunk: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;

    this.bytesToClient += chunk.length;
    this.pendingToClient.push(chunk);
    if (this.pendingToClient.length === 1) setImmediate(() => this.flushToClient());
  }

  private flushToClient(): void {
    const { socket, session } = this;
    const chunks = this.pendingToClient;
    if (chunks.length === 0) return;
    this.pendingToClient = [];
    if (socket.readyState !== socket.OPEN) return;

    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    socket.send(data, { binary: true }, () => {
      if (
        session.stdout.isPaused() &&
        socket.bufferedAmount < LOW_WATER_BYTES
      ) {
        session.stdout.resume();
      }
    });
    if (socket.bufferedAmount > HIGH_WATER_BYTES) session.stdout.pause();
  }

  private logStderr(): void {
    let logged = 0;
    this.session.stderr.on("data", (chunk: Buffer) => {
      if (logged >= MAX_LOGGED_STDERR_BYTES) return;
      const text = chunk.subarray(0, MAX_LOGGED_STDERR_BYTES - logged);
      logged += text.length;
      this.bridgeLog.warn({ stderr: text.toString("utf8") }, "socat stderr");
    });
  }

  /** Ends both sides once, whichever side ended first. */
  private stop(reason: VncBridgeEndReason): void {
    if (this.stopping) return;
    this.stopping = true;
    this.reason = reason;
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;

    const code =
      reason === "closed_by_console" ? CLOSE_GOING_AWAY : CLOSE_NORMAL;
    // The last output of socat still reaches the browser before the close.
    this.flushToClient();
    closeSocket(this.socket, code, "");
    // Data that arrives after this point is dropped, not buffered.
    this.session.stdout.resume();
    void this.endExec().then((exitCode) => this.finish(exitCode));
  }

  /**
   * Ends socat's stdin, then waits for it to exit, signalling it when it
   * outlives the grace period. Returns its exit code, or null.
   */
  private async endExec(): Promise<number | null> {
    const { session } = this;
    session.stdin.end();

    for (const signal of [null, SIGTERM, SIGKILL]) {
      if (signal !== null) {
        this.bridgeLog.warn({ signal }, "socat still running; signalling it");
        session.signal(signal);
      }
      try {
        const exitCode = await session.wait({ timeoutMs: EXIT_GRACE_MS });
        session.close();
        return signal === null ? exitCode : null;
      } catch (error) {
        this.bridgeLog.debug({ err: error }, "socat did not exit in time");
      }
    }

    // NOTE: LXD may still run socat here; its VNC connection then stays
    // open until the sandbox's Xvnc notices the dead peer.
    this.bridgeLog.error("socat did not exit after SIGKILL; giving up");
    session.close();
    return null;
  }

  private finish(exitCode: number | null): void {
    const summary: VncBridgeSummary = {
      reason: this.reason ?? "closed_by_console",
      bytesFromClient: this.bytesFromClient,
      bytesToServer: this.bytesToServer,
      bytesToClient: this.bytesToClient,
      droppedMessages: this.droppedMessages,
      updateRequestsToServer: this.updateRequestsToServer,
      delayedUpdateRequests: this.throttle?.delayedRequests ?? 0,
      exitCode,
      clientCloseCode: this.clientCloseCode,
    };
    this.bridgeLog.info(summary, "VNC bridge closed");
    this.resolveEnded(summary);
  }
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (
    socket.readyState === socket.OPEN ||
    socket.readyState === socket.CONNECTING
  ) {
    socket.close(code, reason);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
