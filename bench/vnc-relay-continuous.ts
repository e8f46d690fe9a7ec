// The continuous-updates measurement of bench/vnc-relay.ts, run by the
// measuring worker. Its client behaves as noVNC 1.7 does against TigerVNC's
// Xvnc: it lists the ContinuousUpdates pseudo-encoding, waits for the
// EndOfContinuousUpdates message that Xvnc sends in reply, sends
// EnableContinuousUpdates for the whole screen and then requests no frames.
// Xvnc pushes each change of the screen as it happens, paced by its
// congestion control, which times the client's replies to fence requests.

import {
  NOVNC_ENCODINGS,
  type RfbClient,
  type ScreenSize,
  type TightCompression,
} from "./rfb-client";
import {
  openBridge,
  openDirect,
  machineCpuTicks,
  mainThreadCpuMs,
  processCpuMs,
  readSandboxCpuMs,
  type RelayPath,
} from "./vnc-relay-paths";

export interface ContinuousInput {
  /** Loopback port of the LXD proxy device that forwards to Xvnc. */
  directPort: number;
  /** ws:// address of the bench's bridge server. */
  bridgeUrl: string;
  rounds: number;
  /** Length of each path's counting window in a round, in ms. */
  windowMs: number;
  /**
   * Time after EnableContinuousUpdates before the window starts, in ms.
   * Xvnc's congestion control returns to a small window after an idle time
   * and widens it as fence replies come back.
   */
  warmupMs: number;
  /** Process ids of the LXD daemon and of the proxy device's forkproxy. */
  lxdPids: number[];
  /** The sandbox's CPU accounting file, from sandboxCpuFile(). */
  sandboxCpuFile: string;
}

/** Figures of one path in one counting window. */
export interface ContinuousWindow {
  /**
   * Start and end of the window in wall-clock ms (Date.now()), to compare
   * with the times at which the page drew its frames.
   */
  startedAt: number;
  endedAt: number;
  /** Length of the window by the worker's monotonic clock, in ms. */
  durationMs: number;
  /** Bytes of each FramebufferUpdate that carried pixels, headers included. */
  updateBytes: number[];
  /** Pixels of screen content in each of those updates. */
  updatePixelArea: number[];
  /** Bytes of all updates, including those of pseudo-encodings alone. */
  bytes: number;
  /** Rectangles per encoding number over all updates of the window. */
  rectangles: Record<number, number>;
  /** Tight rectangles of the window by compression. */
  tightRectangles: Record<TightCompression, number>;
  /** Replies to Xvnc's fence requests sent during the window. */
  fences: number;
  /** Chunks the client received during the window (see RfbClient). */
  chunks: number;
  /** CPU time of the LXD daemon and forkproxy in the window, in ms. */
  lxdCpuMs: number;
  /** CPU time of the bench process (bridge and client) in the window, in ms. */
  processCpuMs: number;
  /** CPU time of the bench's main thread, which runs the bridge, in ms. */
  mainThreadCpuMs: number;
  /**
   * CPU time of the sandbox's processes in the window, in ms: Chromium,
   * Xvnc and, on the bridge path, socat.
   */
  sandboxCpuMs: number;
  /** Share of the whole machine's CPU time that was busy in the window. */
  machineBusyShare: number;
}

export type ContinuousResult = Record<RelayPath, ContinuousWindow[]> & {
  /** Screen size from ServerInit. */
  screen: ScreenSize;
};

// Length of the unrecorded window per path before the first round, which
// warms up the JIT and each connection.
const WARMUP_WINDOW_MS = 2_000;

/**
 * Measures continuous updates over both paths, one path at a time, each on
 * a connection of its own in noVNC's encodings. Odd rounds start with the
 * direct path and even rounds with the bridge.
 */
export async function measureContinuous(
  input: ContinuousInput,
  onRound: (round: number) => void,
): Promise<ContinuousResult> {
  const clients = {} as Record<RelayPath, RfbClient>;
  let screen: ScreenSize = { width: 0, height: 0 };
  for (const path of ["direct", "bridge"] as const) {
    const client =
      path === "direct"
        ? await openDirect(input.directPort)
        : await openBridge(input.bridgeUrl);
    screen = await client.handshake(NOVNC_ENCODINGS);
    await waitForContinuousUpdatesOffer(client, path);
    clients[path] = client;
  }

  for (const path of ["direct", "bridge"] as const) {
    await measureWindow(clients[path], screen, {
      ...input,
      windowMs: WARMUP_WINDOW_MS,
    });
  }

  const result: ContinuousResult = { direct: [], bridge: [], screen };
  for (let round = 0; round < input.rounds; round += 1) {
    const order: RelayPath[] =
      round % 2 === 0 ? ["direct", "bridge"] : ["bridge", "direct"];
    for (const path of order) {
      result[path].push(await measureWindow(clients[path], screen, input));
    }
    onRound(round + 1);
  }

  clients.direct.close();
  clients.bridge.close();
  return result;
}

/**
 * Reads the EndOfContinuousUpdates message that Xvnc sends right after
 * SetEncodings to a client that lists the ContinuousUpdates and Fence
 * pseudo-encodings. It means that the client may turn continuous updates on.
 */
async function waitForContinuousUpdatesOffer(
  client: RfbClient,
  path: RelayPath,
): Promise<void> {
  let message;
  try {
    message = await client.readMessage();
  } catch (error) {
    throw new Error(
      `Xvnc sent no EndOfContinuousUpdates after SetEncodings on the ${path} path`,
      { cause: error },
    );
  }
  if (message.kind !== "end-of-continuous-updates") {
    throw new Error(
      `Xvnc sent a FramebufferUpdate before EndOfContinuousUpdates on the ${path} path`,
    );
  }
}

interface CpuSnapshot {
  lxdMs: number;
  process: NodeJS.CpuUsage;
  mainThreadMs: number;
  sandboxMs: number;
  machine: { busy: number; total: number };
}

function takeCpuSnapshot(input: ContinuousInput): CpuSnapshot {
  return {
    lxdMs: processCpuMs(input.lxdPids),
    process: process.cpuUsage(),
    mainThreadMs: mainThreadCpuMs(),
    sandboxMs: readSandboxCpuMs(input.sandboxCpuFile),
    machine: machineCpuTicks(),
  };
}

/**
 * Turns continuous updates on and counts the updates whose last byte
 * arrives within the window that starts `warmupMs` later. Then it turns them
 * off and reads on to Xvnc's EndOfContinuousUpdates, so that no update of
 * this window is left unread when the next window starts.
 */
async function measureWindow(
  client: RfbClient,
  screen: ScreenSize,
  input: ContinuousInput,
): Promise<ContinuousWindow> {
  const window: ContinuousWindow = {
    startedAt: 0,
    endedAt: 0,
    durationMs: 0,
    updateBytes: [],
    updatePixelArea: [],
    bytes: 0,
    rectangles: {},
    tightRectangles: { fill: 0, jpeg: 0, png: 0, basic: 0 },
    fences: 0,
    chunks: 0,
    lxdCpuMs: 0,
    processCpuMs: 0,
    mainThreadCpuMs: 0,
    sandboxCpuMs: 0,
    machineBusyShare: 0,
  };
  let counting = false;
  let turnedOff = false;
  let startedMs = 0;
  let fencesBefore = 0;
  let chunksBefore = 0;
  let tightBefore = { ...client.tightRectangles };
  let cpuBefore: CpuSnapshot | null = null;

  const startCounting = () => {
    counting = true;
    startedMs = performance.now();
    window.startedAt = Date.now();
    fencesBefore = client.fenceRepliesSent;
    chunksBefore = client.chunksReceived;
    tightBefore = { ...client.tightRectangles };
    cpuBefore = takeCpuSnapshot(input);
  };
  const stopCounting = () => {
    counting = false;
    window.durationMs = performance.now() - startedMs;
    window.endedAt = Date.now();
    window.fences = client.fenceRepliesSent - fencesBefore;
    window.chunks = client.chunksReceived - chunksBefore;
    for (const [compression, count] of Object.entries(client.tightRectangles)) {
      const key = compression as TightCompression;
      window.tightRectangles[key] = count - tightBefore[key];
    }
    const cpuAfter = takeCpuSnapshot(input);
    const processUsed = process.cpuUsage(cpuBefore!.process);
    window.lxdCpuMs = cpuAfter.lxdMs - cpuBefore!.lxdMs;
    window.processCpuMs = (processUsed.user + processUsed.system) / 1000;
    window.mainThreadCpuMs = cpuAfter.mainThreadMs - cpuBefore!.mainThreadMs;
    window.sandboxCpuMs = cpuAfter.sandboxMs - cpuBefore!.sandboxMs;
    window.machineBusyShare =
      (cpuAfter.machine.busy - cpuBefore!.machine.busy) /
      (cpuAfter.machine.total - cpuBefore!.machine.total);

    client.enableContinuousUpdates(false, screen.width, screen.height);
    turnedOff = true;
  };

  // The timers fire between reads, because each read waits for the socket.
  const startTimer = setTimeout(startCounting, input.warmupMs);
  const stopTimer = setTimeout(stopCounting, input.warmupMs + input.windowMs);
  try {
    client.enableContinuousUpdates(true, screen.width, screen.height);
    for (;;) {
      const message = await client.readMessage();
      if (message.kind === "end-of-continuous-updates") {
        if (turnedOff) break;
        throw new Error(
          "Xvnc sent EndOfContinuousUpdates while continuous updates were on",
        );
      }
      if (!counting) continue;

      const { update } = message;
      window.bytes += update.bytes;
      for (const [encoding, count] of Object.entries(update.rectangles)) {
        const key = Number(encoding);
        window.rectangles[key] = (window.rectangles[key] ?? 0) + count;
      }
      if (update.pixelArea > 0) {
        window.updateBytes.push(update.bytes);
        window.updatePixelArea.push(update.pixelArea);
      }
    }
  } finally {
    clearTimeout(startTimer);
    clearTimeout(stopTimer);
  }
  return window;
}
