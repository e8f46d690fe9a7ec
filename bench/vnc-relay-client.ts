// The measuring side of bench/vnc-relay.ts. It runs in a worker thread, so
// its event loop is not the one that runs the bridge, as a browser's would
// not be. It reaches the same Xvnc over two paths and measures each in
// turn, alternating which path goes first in each round.

import fs from "node:fs";
import net from "node:net";
import { parentPort, workerData } from "node:worker_threads";

import WebSocket from "ws";

import { RfbClient, tcpTransport, webSocketTransport } from "./rfb-client";

export type RelayPath = "direct" | "bridge";

export interface RelayClientInput {
  /** Loopback port of the LXD proxy device that forwards to Xvnc. */
  directPort: number;
  /** ws:// address of the bench's bridge server. */
  bridgeUrl: string;
  rounds: number;
  /** Round trips per path per round. */
  latencySamples: number;
  /** Full frames per path per round. */
  frames: number;
  /** New connections per path per round. */
  connections: number;
  warmupSamples: number;
  /**
   * Process ids of the LXD daemon and of the proxy device's forkproxy,
   * whose CPU time is recorded.
   */
  lxdPids: number[];
}

export interface PathSamples {
  /** Round-trip times of a 1x1 update, in ms. */
  latencyMs: number[];
  /** Time from request to last byte of each full frame, in ms. */
  frameMs: number[];
  /** Bytes of one full-frame update, headers included. */
  frameBytes: number;
  /** Time from connecting to ServerInit, in ms. */
  connectMs: number[];
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

export type RelayClientResult = Record<RelayPath, PathSamples>;

async function openDirect(port: number): Promise<RfbClient> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return new RfbClient(tcpTransport(socket));
}

async function openBridge(url: string): Promise<RfbClient> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return new RfbClient(webSocketTransport(socket));
}

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

/** Returns the CPU time (user and system) of the processes so far, in ms. */
function processCpuMs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    // Fields after the command name: utime and stime are the 12th and 13th,
    // in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return total;
}

/** Measures full frames and the CPU time the daemon and this process spent. */
async function measureFramesWithCpu(
  client: RfbClient,
  size: { width: number; height: number },
  frames: number,
  samples: PathSamples,
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

async function measureFrames(
  client: RfbClient,
  size: { width: number; height: number },
  frames: number,
  samples: PathSamples,
): Promise<void> {
  for (let index = 0; index < frames; index += 1) {
    const started = performance.now();
    client.requestFullUpdate(size.width, size.height);
    samples.frameBytes = await client.readUpdate();
    samples.frameMs.push(performance.now() - started);
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
  const clients = {} as Record<RelayPath, RfbClient>;
  let size = { width: 0, height: 0 };
  for (const path of ["direct", "bridge"] as const) {
    clients[path] = await open[path]();
    size = await clients[path].handshake();
  }

  const emptySamples = (): PathSamples => ({
    latencyMs: [],
    frameMs: [],
    frameBytes: 0,
    connectMs: [],
    lxdCpuMsPerFrame: [],
    processCpuMsPerFrame: [],
  });
  const result: RelayClientResult = {
    direct: emptySamples(),
    bridge: emptySamples(),
  };
  // A warm-up for the JIT, socket buffers and Xvnc's caches, not recorded.
  for (const path of ["direct", "bridge"] as const) {
    await measureLatency(clients[path], input.warmupSamples, []);
    await measureFrames(clients[path], size, 2, emptySamples());
  }

  for (let round = 0; round < input.rounds; round += 1) {
    const order: RelayPath[] =
      round % 2 === 0 ? ["direct", "bridge"] : ["bridge", "direct"];
    for (const path of order) {
      await measureLatency(
        clients[path],
        input.latencySamples,
        result[path].latencyMs,
      );
      await measureFramesWithCpu(
        clients[path],
        size,
        input.frames,
        result[path],
        input.lxdPids,
      );
      await measureConnect(
        open[path],
        input.connections,
        result[path].connectMs,
      );
    }
    parentPort?.postMessage({ kind: "progress", round: round + 1 });
  }

  for (const client of Object.values(clients)) client.close();
  return result;
}

run(workerData as RelayClientInput).then(
  (result) => parentPort?.postMessage({ kind: "result", result }),
  (error: unknown) =>
    parentPort?.postMessage({
      kind: "error",
      message:
        error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
);
