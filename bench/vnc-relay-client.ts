// The measuring side of bench/vnc-relay.ts. It runs in a worker thread, so
// its event loop is not the one that runs the bridge, as a browser's would
// not be. It reaches the same Xvnc over two paths and measures each in
// turn, alternating which path goes first in each round. It runs either the
// request-response measurements below or the continuous-updates one of
// bench/vnc-relay-continuous.ts.

import { parentPort, workerData } from "node:worker_threads";

import {
  NOVNC_ENCODINGS,
  RAW_ONLY_ENCODINGS,
  type RfbClient,
  type ScreenSize,
} from "./rfb-client";
import {
  measureContinuous,
  type ContinuousInput,
  type ContinuousResult,
} from "./vnc-relay-continuous";
import {
  openBridge,
  openDirect,
  processCpuMs,
  type RelayPath,
} from "./vnc-relay-paths";

/**
 * The SetEncodings list of a full-frame measurement: raw alone, or the list
 * noVNC sends by default.
 */
export type EncodingSet = "raw" | "novnc";

export const ENCODING_LISTS: Record<EncodingSet, readonly number[]> = {
  raw: RAW_ONLY_ENCODINGS,
  novnc: NOVNC_ENCODINGS,
};

export interface RelayClientInput {
  /** Loopback port of the LXD proxy device that forwards to Xvnc. */
  directPort: number;
  /** ws:// address of the bench's bridge server. */
  bridgeUrl: string;
  rounds: number;
  /** Round trips per path per round. */
  latencySamples: number;
  /** Full frames per path, round and encoding set. */
  frames: number;
  /** Encoding sets whose full frames are measured, each on its own connection. */
  encodingSets: EncodingSet[];
  /** New connections per path per round. */
  connections: number;
  warmupSamples: number;
  /**
   * Process ids of the LXD daemon and of the proxy device's forkproxy,
   * whose CPU time is recorded.
   */
  lxdPids: number[];
}

export interface FrameSamples {
  /** Time from request to last byte of each full frame, in ms. */
  frameMs: number[];
  /** Bytes of each full-frame update, headers included. */
  frameBytes: number[];
  /** Rectangles per encoding number over all recorded frames. */
  rectangles: Record<number, number>;
  /** Pixels covered by screen content in each frame. */
  pixelArea: number[];
  /**
   * CPU time of the LXD daemon and forkproxy per full frame, one value per
   * round, in ms.
   */
  lxdCpuMsPerFrame: number[];
  /**
   * CPU time of the bench process per full frame, one value per round, in
   * ms: the bridge (main thread) plus this client (worker thread).
   */
  processCpuMsPerFrame: number[];
}

export interface PathSamples {
  /** Round-trip times of a 1x1 update in raw encoding, in ms. */
  latencyMs: number[];
  /** Time from connecting to ServerInit, in ms. */
  connectMs: number[];
  frames: Partial<Record<EncodingSet, FrameSamples>>;
}

export type RelayClientResult = Record<RelayPath, PathSamples> & {
  /** Screen size from ServerInit. */
  screen: ScreenSize;
};

async function measureLatency(
  client: RfbClient,
  samples: number,
  into: number[],
): Promise<void> {
  for (let index = 0; index < samples; index += 1) {
    const started = performance.now();
    client.requestFullUpdate(1, 1);
    await client.readUpdate();
    into.push(performance.now() - started);
  }
}

/** Measures full frames and the CPU time the daemon and this process spent. */
async function measureFramesWithCpu(
  client: RfbClient,
  size: { width: number; height: number },
  frames: number,
  samples: FrameSamples,
  lxdPids: number[],
): Promise<void> {
  const lxdBefore = processCpuMs(lxdPids);
  const processBefore = process.cpuUsage();
  await measureFrames(client, size, frames, samples);
  const processUsed = process.cpuUsage(processBefore);

  samples.lxdCpuMsPerFrame.push((processCpuMs(lxdPids) - lxdBefore) / frames);
  samples.processCpuMsPerFrame.push(
    (processUsed.user + processUsed.system) / 1000 / frames,
  );
}

// Updates read for one frame before the bench gives up.
const MAX_UPDATES_PER_FRAME = 4;

/**
 * Measures full frames: the time from a non-incremental request for the
 * whole screen to the last byte of the update that carries its pixels.
 *
 * A client that supports ExtendedDesktopSize, as noVNC does, gets the
 * screen layout for a non-incremental request in an update of its own, and
 * TigerVNC's Xvnc (1.12) then sends no pixels until the next request. So
 * after an update without pixels this sends an incremental request, as
 * noVNC does after every update until it turns on continuous updates, and
 * the frame's time includes that extra round trip.
 */
async function measureFrames(
  client: RfbClient,
  size: { width: number; height: number },
  frames: number,
  samples: FrameSamples,
): Promise<void> {
  for (let index = 0; index < frames; index += 1) {
    const started = performance.now();
    // Non-incremental, so Xvnc encodes the whole screen each time even
    // though the page on it does not change.
    client.requestFullUpdate(size.width, size.height);
    let bytes = 0;
    for (let updates = 1; ; updates += 1) {
      const update = await client.readUpdate();
      bytes += update.bytes;
      for (const [encoding, count] of Object.entries(update.rectangles)) {
        const key = Number(encoding);
        samples.rectangles[key] = (samples.rectangles[key] ?? 0) + count;
      }
      if (update.pixelArea > 0) {
        samples.pixelArea.push(update.pixelArea);
        break;
      }
      if (updates === MAX_UPDATES_PER_FRAME) {
        throw new Error(
          `Xvnc sent ${updates} updates without pixels for one full-frame request`,
        );
      }
      client.requestIncrementalUpdate(size.width, size.height);
    }
    samples.frameMs.push(performance.now() - started);
    samples.frameBytes.push(bytes);
  }
}

async function measureConnect(
  open: () => Promise<RfbClient>,
  count: number,
  into: number[],
): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    const client = await open();
    await client.handshake();
    into.push(performance.now() - started);
    client.close();
  }
}

async function run(input: RelayClientInput): Promise<RelayClientResult> {
  const open: Record<RelayPath, () => Promise<RfbClient>> = {
    direct: () => openDirect(input.directPort),
    bridge: () => openBridge(input.bridgeUrl),
  };
  // Per path, one connection in raw encoding for the round trips (and the
  // raw frames) and, if requested, one in noVNC's encodings, because Xvnc
  // keeps the encodings for the whole connection.
  const clients = {} as Record<RelayPath, Record<EncodingSet, RfbClient>>;
  let size = { width: 0, height: 0 };
  for (const path of ["direct", "bridge"] as const) {
    const raw = await open[path]();
    size = await raw.handshake(ENCODING_LISTS.raw);
    clients[path] = { raw, novnc: raw };
    if (input.encodingSets.includes("novnc")) {
      clients[path].novnc = await open[path]();
      await clients[path].novnc.handshake(ENCODING_LISTS.novnc);
    }
  }

  const emptyFrames = (): FrameSamples => ({
    frameMs: [],
    frameBytes: [],
    rectangles: {},
    pixelArea: [],
    lxdCpuMsPerFrame: [],
    processCpuMsPerFrame: [],
  });
  const emptySamples = (): PathSamples => ({
    latencyMs: [],
    connectMs: [],
    frames: Object.fromEntries(
      input.encodingSets.map((set) => [set, emptyFrames()]),
    ),
  });
  const result: RelayClientResult = {
    direct: emptySamples(),
    bridge: emptySamples(),
    screen: size,
  };
  // A warm-up for the JIT, socket buffers and Xvnc's caches, not recorded.
  // It also takes the cursor shape and desktop name that Xvnc sends in the
  // first update after SetEncodings.
  for (const path of ["direct", "bridge"] as const) {
    await measureLatency(clients[path].raw, input.warmupSamples, []);
    for (const set of input.encodingSets) {
      await measureFrames(clients[path][set], size, 2, emptyFrames());
    }
  }

  for (let round = 0; round < input.rounds; round += 1) {
    const order: RelayPath[] =
      round % 2 === 0 ? ["direct", "bridge"] : ["bridge", "direct"];
    for (const path of order) {
      await measureLatency(
        clients[path].raw,
        input.latencySamples,
        result[path].latencyMs,
      );
      for (const set of input.encodingSets) {
        await measureFramesWithCpu(
          clients[path][set],
          size,
          input.frames,
          result[path].frames[set]!,
          input.lxdPids,
        );
      }
      await measureConnect(
        open[path],
        input.connections,
        result[path].connectMs,
      );
    }
    reportRound(round + 1);
  }

  for (const path of ["direct", "bridge"] as const) {
    clients[path].raw.close();
    clients[path].novnc.close();
  }
  return result;
}

/** Input of the measuring worker: which measurement, and its parameters. */
export type RelayWorkerInput =
  | ({ measurement: "request-response" } & RelayClientInput)
  | ({ measurement: "continuous" } & ContinuousInput);

function reportRound(round: number): void {
  parentPort?.postMessage({ kind: "progress", round });
}

/** Returns the error's stack, and those of its causes. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = error.stack ?? error.message;
  return error.cause === undefined
    ? text
    : `${text}\ncaused by: ${describeError(error.cause)}`;
}

const input = workerData as RelayWorkerInput;
const measured: Promise<RelayClientResult | ContinuousResult> =
  input.measurement === "continuous"
    ? measureContinuous(input, reportRound)
    : run(input);
measured.then(
  (result) => parentPort?.postMessage({ kind: "result", result }),
  (error: unknown) =>
    parentPort?.postMessage({ kind: "error", message: describeError(error) }),
);
