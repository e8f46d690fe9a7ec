// Compares the VNC bridge (browser WebSocket -> console -> LXD exec of
// socat -> Xvnc) with a direct TCP path (an LXD proxy device on loopback ->
// Xvnc) to the same browser sandbox: round-trip latency of a small update
// and throughput of full-screen updates, in raw encoding and in the encodings
// noVNC offers. See bench/README.md.
//
//   npx tsx bench/vnc-relay.ts [--rounds N] [--latency-samples N] [--frames N]
//                              [--connections N] [--encodings novnc|raw|both]
//
// Runs as root: it starts a private LXD daemon "bench-a" (HTTPS on
// 127.0.0.1:18461) and removes it at the end, also after an error or Ctrl-C.

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

import { WebSocketServer } from "ws";

import {
  TEST_DAEMON_ROOT,
  runLxc,
  startTestDaemon,
  stopTestDaemon,
  type TestDaemon,
} from "../test/harness/lxd-daemon";
import { runCommandOrThrow } from "../test/harness/run-command";
import type { VncBridge } from "../lib/vnc/bridge";
import type {
  EncodingSet,
  FrameSamples,
  PathSamples,
  RelayClientInput,
  RelayClientResult,
} from "./vnc-relay-client";

const DAEMON_NAME = "bench-a";
const DAEMON_HTTPS_PORT = 18461;
const PROXY_DEVICE = "vnc-bench";
const DEMO_PAGE_URL = "http://127.0.0.1:8080/";

const SANDBOX_READY_TIMEOUT_MS = 120_000;
// The sandbox counts as idle once it uses less than this much CPU time per
// second of wall time, because Chromium is busy for a while after it starts.
const IDLE_CPU_MS_PER_SECOND = 50;
const IDLE_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 180_000;
const PROXY_READY_TIMEOUT_MS = 20_000;
const WORKER_TIMEOUT_MS = 20 * 60_000;

// Targets for the bridge against the direct path.
const TARGET_ADDED_P50_MS = 1;
const TARGET_THROUGHPUT_RATIO = 0.8;

const ENCODING_SET_CHOICES: Record<string, EncodingSet[]> = {
  novnc: ["novnc"],
  raw: ["raw"],
  both: ["raw", "novnc"],
};

const ENCODING_SET_LABELS: Record<EncodingSet, string> = {
  raw: "raw",
  novnc: "noVNC's encodings",
};

// Names of the encodings that Xvnc may send in reply to noVNC's list.
const ENCODING_NAMES: Record<number, string> = {
  0: "raw",
  1: "CopyRect",
  2: "RRE",
  6: "Zlib",
  7: "Tight",
  16: "ZRLE",
  50: "H.264",
  [-260]: "TightPNG",
  [-223]: "DesktopSize",
  [-224]: "LastRect",
  [-239]: "Cursor",
  [-258]: "QEMUExtendedKeyEvent",
  [-261]: "QEMULedState",
  [-307]: "DesktopName",
  [-308]: "ExtendedDesktopSize",
  [-316]: "ExtendedMouseButtons",
  [0x574d5664]: "VMwareCursor",
};

/** Resources that cleanup() removes, filled in as main() creates them. */
interface Resources {
  instance: string | null;
  proxyAdded: boolean;
  server: WebSocketServer | null;
  bridges: Set<VncBridge>;
  worker: Worker | null;
  closeLxd: (() => Promise<void>) | null;
}

const resources: Resources = {
  instance: null,
  proxyAdded: false,
  server: null,
  bridges: new Set(),
  worker: null,
  closeLxd: null,
};

function parseOptions(): Omit<
  RelayClientInput,
  "directPort" | "bridgeUrl" | "lxdPids"
> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "8" },
      "latency-samples": { type: "string", default: "500" },
      frames: { type: "string", default: "15" },
      connections: { type: "string", default: "3" },
      encodings: { type: "string", default: "both" },
    },
  });
  const encodingSets = ENCODING_SET_CHOICES[values.encodings];
  if (!encodingSets) {
    throw new Error(
      `--encodings must be novnc, raw or both, not ${values.encodings}`,
    );
  }
  const count = (
    name: Exclude<keyof typeof values, "encodings">,
    max: number,
  ): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new Error(
        `--${name} must be a whole number from 1 to ${max}, not ${values[name]}`,
      );
    }
    return value;
  };
  return {
    rounds: count("rounds", 50),
    latencySamples: count("latency-samples", 10_000),
    frames: count("frames", 100),
    connections: count("connections", 20),
    encodingSets,
    warmupSamples: 100,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  // The bridge logs each connection at info level, which would bury the
  // figures. Warnings and errors still show.
  process.env.LOG_LEVEL ??= "warn";
  const { openVncBridge } = await import("../lib/vnc/bridge");
  const { LxdClient } = await import("../lib/lxd");

  step("starting LXD daemon bench-a");
  const daemon: TestDaemon = await startTestDaemon({
    name: DAEMON_NAME,
    httpsPort: DAEMON_HTTPS_PORT,
  });
  const env = { ...process.env, LXD_DIR: daemon.lxdDir };

  step("importing the browser image (built once, then taken from the cache)");
  await runCommandOrThrow("scripts/build-image.sh", ["browser"], {
    env,
    timeoutMs: 900_000,
  });
  await runCommandOrThrow("scripts/sandbox-profile.sh", [], { env });

  const name = `bench-vnc-${randomBytes(3).toString("hex")}`;
  step(`launching browser sandbox ${name}`);
  resources.instance = name;
  await lxcOrThrow([
    "launch",
    "sandbox-browser",
    name,
    "--profile",
    "default",
    "--profile",
    "sandbox",
  ]);
  await waitForDemoPage(name);
  await waitForIdle(name);

  const directPort = await freeLoopbackPort();
  step(`adding proxy device 127.0.0.1:${directPort} -> 127.0.0.1:5900`);
  await lxcOrThrow([
    "config",
    "device",
    "add",
    name,
    PROXY_DEVICE,
    "proxy",
    `listen=tcp:127.0.0.1:${directPort}`,
    "connect=tcp:127.0.0.1:5900",
    "bind=host",
  ]);
  resources.proxyAdded = true;

  const lxd = new LxdClient({ kind: "unix", socketPath: daemon.socketPath });
  resources.closeLxd = () => lxd.close();
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate: false,
  });
  resources.server = server;
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("connection", (socket) => {
    openVncBridge(lxd, { project: "default", name }, socket, {
      viewOnly: false,
      mode: "full",
      hostId: DAEMON_NAME,
    }).then(
      (bridge) => {
        resources.bridges.add(bridge);
        void bridge.ended.then(() => resources.bridges.delete(bridge));
      },
      (error: unknown) =>
        console.error("bench: failed to open the bridge:", error),
    );
  });
  const { port: bridgePort } = server.address() as net.AddressInfo;

  // The harness writes the daemon's pid next to its LXD_DIR.
  const pidFile = path.join(TEST_DAEMON_ROOT, `${DAEMON_NAME}.pid`);
  const daemonPid = Number.parseInt(await fs.readFile(pidFile, "utf8"), 10);
  const forkproxyPid = await findForkproxy(directPort);

  step(`measuring ${options.rounds} rounds`);
  const result = await runClient({
    ...options,
    directPort,
    bridgeUrl: `ws://127.0.0.1:${bridgePort}`,
    lxdPids: [daemonPid, forkproxyPid],
  });
  report(result, options);
}

/** Runs bench/vnc-relay-client.ts in a worker thread and returns its samples. */
function runClient(input: RelayClientInput): Promise<RelayClientResult> {
  const file = new URL("./vnc-relay-client.ts", import.meta.url).href;
  // Node 20 does not pass tsx's loader on to workers, so the worker loads
  // the TypeScript file through tsx's API.
  const worker = new Worker(
    `import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(file)}, ${JSON.stringify(import.meta.url)}))`,
    { eval: true, workerData: input },
  );
  resources.worker = worker;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `The measuring worker did not finish within ${WORKER_TIMEOUT_MS / 60_000} minutes`,
          ),
        ),
      WORKER_TIMEOUT_MS,
    );
    worker.on(
      "message",
      (message: {
        kind: string;
        round?: number;
        result?: RelayClientResult;
        message?: string;
      }) => {
        if (message.kind === "progress") {
          step(`round ${message.round}/${input.rounds} done`);
        } else if (message.kind === "result" && message.result) {
          clearTimeout(timer);
          resolve(message.result);
        } else if (message.kind === "error") {
          clearTimeout(timer);
          reject(new Error(`The measuring worker failed: ${message.message}`));
        }
      },
    );
    worker.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function report(
  result: RelayClientResult,
  options: ReturnType<typeof parseOptions>,
): void {
  console.log("");
  console.log(
    `${options.rounds} rounds; per path and round: ` +
      `${options.latencySamples} round trips, ${options.frames} full ` +
      `frames per encoding set, ${options.connections} new connections; ` +
      `load average ${loadAverage()}`,
  );
  printFigures(result, options.encodingSets);
  printRounds(result, options);
  printTargets(result, options.encodingSets);
}

function printFigures(
  { direct, bridge, screen }: RelayClientResult,
  encodingSets: EncodingSet[],
): void {
  const row = (label: string, pick: (samples: PathSamples) => string) =>
    console.log(
      label.padEnd(48) + pick(direct).padStart(12) + pick(bridge).padStart(12),
    );
  const megabytes = (bytesPerSecond: number) =>
    (bytesPerSecond / 1e6).toFixed(1);

  console.log("".padEnd(48) + "direct".padStart(12) + "bridge".padStart(12));
  row("1x1 update round trip p50 (ms)", (s) => ms(summarize(s.latencyMs).p50));
  row("1x1 update round trip p99 (ms)", (s) => ms(summarize(s.latencyMs).p99));
  row("1x1 update round trip mean (ms)", (s) =>
    ms(summarize(s.latencyMs).mean),
  );
  for (const set of encodingSets) {
    const frames = (samples: PathSamples) => samples.frames[set]!;
    const label = `full frame, ${ENCODING_SET_LABELS[set]}`;
    row(`${label}: bytes per frame, median`, (s) =>
      summarize(frames(s).frameBytes).p50.toFixed(0),
    );
    row(`${label}: screen area in the frame, min (%)`, (s) =>
      (
        (Math.min(...frames(s).pixelArea) / (screen.width * screen.height)) *
        100
      ).toFixed(0),
    );
    row(`${label}: frames/s, median`, (s) =>
      throughputOf(frames(s)).medianFramesPerSecond.toFixed(1),
    );
    row(`${label}: frames/s, all frames together`, (s) =>
      throughputOf(frames(s)).pooledFramesPerSecond.toFixed(1),
    );
    row(`${label}: MB/s, median`, (s) =>
      megabytes(throughputOf(frames(s)).medianBytesPerSecond),
    );
    row(`${label}: MB/s, all frames together`, (s) =>
      megabytes(throughputOf(frames(s)).pooledBytesPerSecond),
    );
    row(`${label}: LXD CPU per frame (ms)`, (s) =>
      summarize(frames(s).lxdCpuMsPerFrame).p50.toFixed(2),
    );
    row(`${label}: bench CPU per frame (ms)`, (s) =>
      summarize(frames(s).processCpuMsPerFrame).p50.toFixed(2),
    );
  }
  row("connect to ServerInit p50 (ms)", (s) => ms(summarize(s.connectMs).p50));

  for (const set of encodingSets) {
    console.log(
      `rectangles per frame, ${ENCODING_SET_LABELS[set]} (direct / bridge): ` +
        `${describeRectangles(direct.frames[set]!)} / ` +
        `${describeRectangles(bridge.frames[set]!)}`,
    );
  }
}

/** Describes the average rectangle count per frame by encoding, such as "Tight 41.0". */
function describeRectangles(samples: FrameSamples): string {
  const frames = samples.frameMs.length;
  return Object.entries(samples.rectangles)
    .map(
      ([encoding, count]) =>
        `${ENCODING_NAMES[Number(encoding)] ?? encoding} ${(count / frames).toFixed(1)}`,
    )
    .join(", ");
}

/** Prints each round's figures, which show how much the machine's load varied. */
function printRounds(
  { direct, bridge }: RelayClientResult,
  options: ReturnType<typeof parseOptions>,
): void {
  const roundOf = <T>(samples: T[], perRound: number, round: number) =>
    samples.slice(round * perRound, (round + 1) * perRound);

  console.log("");
  console.log(
    "per round, direct / bridge: round trip p50 (ms)" +
      options.encodingSets
        .map((set) => `, ${ENCODING_SET_LABELS[set]} frames/s`)
        .join(""),
  );
  for (let round = 0; round < options.rounds; round += 1) {
    const latency = (samples: PathSamples) =>
      ms(
        summarize(roundOf(samples.latencyMs, options.latencySamples, round))
          .p50,
      );
    const framesPerSecond = (samples: PathSamples, set: EncodingSet) => {
      const frames = samples.frames[set]!;
      return throughputOf({
        ...frames,
        frameMs: roundOf(frames.frameMs, options.frames, round),
        frameBytes: roundOf(frames.frameBytes, options.frames, round),
      }).medianFramesPerSecond.toFixed(1);
    };
    console.log(
      `  round ${round + 1}: ${latency(direct)} / ${latency(bridge)}` +
        options.encodingSets
          .map(
            (set) =>
              `   ${framesPerSecond(direct, set)} / ${framesPerSecond(bridge, set)}`,
          )
          .join(""),
    );
  }
}

function printTargets(
  { direct, bridge }: RelayClientResult,
  encodingSets: EncodingSet[],
): void {
  const addedP50 =
    summarize(bridge.latencyMs).p50 - summarize(direct.latencyMs).p50;

  console.log("");
  console.log(
    `bridge adds ${ms(addedP50)} ms at p50 ` +
      `(target under ${TARGET_ADDED_P50_MS} ms): ` +
      (addedP50 < TARGET_ADDED_P50_MS ? "met" : "MISSED"),
  );
  for (const set of encodingSets) {
    const ratio =
      throughputOf(bridge.frames[set]!).medianFramesPerSecond /
      throughputOf(direct.frames[set]!).medianFramesPerSecond;
    console.log(
      `bridge/direct full frames per second, ${ENCODING_SET_LABELS[set]}: ` +
        `${(ratio * 100).toFixed(0)}% ` +
        `(target at least ${TARGET_THROUGHPUT_RATIO * 100}%): ` +
        (ratio >= TARGET_THROUGHPUT_RATIO ? "met" : "MISSED"),
    );
  }
}

function summarize(samples: number[]): {
  p50: number;
  p99: number;
  mean: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ??
    NaN;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), mean };
}

/**
 * Returns frames and bytes per second: medians over single frames, and
 * totals over the time of all frames together.
 */
function throughputOf(samples: FrameSamples): {
  medianFramesPerSecond: number;
  pooledFramesPerSecond: number;
  medianBytesPerSecond: number;
  pooledBytesPerSecond: number;
} {
  const seconds = samples.frameMs.map((elapsed) => elapsed / 1000);
  const totalSeconds = seconds.reduce((sum, value) => sum + value, 0);
  const totalBytes = samples.frameBytes.reduce((sum, value) => sum + value, 0);
  return {
    medianFramesPerSecond: summarize(seconds.map((value) => 1 / value)).p50,
    pooledFramesPerSecond: seconds.length / totalSeconds,
    medianBytesPerSecond: summarize(
      seconds.map((value, index) => samples.frameBytes[index]! / value),
    ).p50,
    pooledBytesPerSecond: totalBytes / totalSeconds,
  };
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
}

function ms(value: number): string {
  return value.toFixed(3);
}

function step(message: string): void {
  console.log(`bench: ${message}`);
}

async function lxcOrThrow(args: string[]): Promise<string> {
  const result = await runLxc(DAEMON_NAME, args);
  if (result.code !== 0) {
    throw new Error(`lxc ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

async function waitForDemoPage(name: string): Promise<void> {
  const deadline = Date.now() + SANDBOX_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const result = await runLxc(DAEMON_NAME, [
      "exec",
      name,
      "--",
      "busybox",
      "wget",
      "-qO-",
      "http://127.0.0.1:9222/json/list",
    ]);
    if (result.code === 0) {
      const targets = JSON.parse(result.stdout) as Array<{
        type: string;
        url: string;
      }>;
      if (
        targets.some(
          (target) => target.type === "page" && target.url === DEMO_PAGE_URL,
        )
      )
        return;
    }
    await sleep(500);
  }
  throw new Error(
    `Chromium in ${name} did not show ${DEMO_PAGE_URL} within ${SANDBOX_READY_TIMEOUT_MS / 1000} s`,
  );
}

/** Waits until the sandbox's CPU use settles, so start-up work does not skew the first round. */
async function waitForIdle(name: string): Promise<void> {
  const deadline = Date.now() + IDLE_TIMEOUT_MS;
  let previous = await cpuUsageNs(name);
  while (Date.now() < deadline) {
    await sleep(1_000);
    const current = await cpuUsageNs(name);
    const usedMs = (current - previous) / 1e6;
    previous = current;
    if (usedMs < IDLE_CPU_MS_PER_SECOND) {
      step(`sandbox idle (${usedMs.toFixed(0)} ms CPU in the last second)`);
      return;
    }
  }
  step(
    `sandbox still busy after ${IDLE_TIMEOUT_MS / 1000} s; measuring anyway`,
  );
}

async function cpuUsageNs(name: string): Promise<number> {
  const state = JSON.parse(
    await lxcOrThrow(["query", `/1.0/instances/${name}/state`]),
  ) as {
    cpu: { usage: number };
  };
  return state.cpu.usage;
}

/**
 * Waits until the proxy device listening on `port` relays Xvnc's banner,
 * and returns the pid of its forkproxy process.
 */
async function findForkproxy(port: number): Promise<number> {
  const deadline = Date.now() + PROXY_READY_TIMEOUT_MS;
  while (!(await readsBanner(port))) {
    if (Date.now() > deadline) {
      throw new Error(
        `The proxy device on 127.0.0.1:${port} did not relay a VNC banner within ${PROXY_READY_TIMEOUT_MS / 1000} s`,
      );
    }
    await sleep(200);
  }

  const listen = `tcp:127.0.0.1:${port}`;
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs
      .readFile(`/proc/${entry}/cmdline`, "utf8")
      .catch(() => "");
    const args = cmdline.split("\0");
    if (args.includes("forkproxy") && args.includes(listen)) {
      return Number(entry);
    }
  }
  throw new Error(`No forkproxy process listens on ${listen}`);
}

function readsBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once("data", (chunk: Buffer) =>
      done(chunk.toString("latin1").startsWith("RFB ")),
    );
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let cleanupStarted: Promise<void> | null = null;

/**
 * Removes what the bench created, within CLEANUP_TIMEOUT_MS: the worker,
 * the bridge server, the proxy device, the sandbox and the daemon.
 */
function cleanup(): Promise<void> {
  cleanupStarted ??= (async () => {
    await resources.worker?.terminate();
    resources.server?.close();
    // A bridge ends its socat exec through the LXD client, so the client
    // closes only after every bridge has ended.
    const bridges = [...resources.bridges];
    for (const bridge of bridges) bridge.close();
    await Promise.all(bridges.map((bridge) => bridge.ended));
    await resources.closeLxd?.();
    if (resources.proxyAdded && resources.instance !== null) {
      await runLxc(DAEMON_NAME, [
        "config",
        "device",
        "remove",
        resources.instance,
        PROXY_DEVICE,
      ]);
    }
    // Also stops a daemon whose start was interrupted. It deletes the
    // daemon's instances before shutting it down.
    await stopTestDaemon(DAEMON_NAME);
  })();

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Cleanup did not finish within ${CLEANUP_TIMEOUT_MS / 1000} s; ` +
              `stop the daemon with LXD_DIR=/var/lib/sandbox-console-test/${DAEMON_NAME} lxd shutdown`,
          ),
        ),
      CLEANUP_TIMEOUT_MS,
    );
  });
  return Promise.race([cleanupStarted, timeout]).finally(() =>
    clearTimeout(timer),
  );
}

process.once("SIGINT", () => {
  console.error(
    "bench: interrupted; cleaning up (press Ctrl-C again to quit at once)",
  );
  cleanup().then(
    () => process.exit(130),
    (error: unknown) => {
      console.error(`bench: ${String(error)}`);
      process.exit(130);
    },
  );
});
process.once("SIGTERM", () => {
  void cleanup()
    .catch((error: unknown) => console.error(`bench: ${String(error)}`))
    .finally(() => process.exit(143));
});

main()
  .then(() => cleanup())
  .then(
    () => {
      step("cleaned up");
      process.exit(0);
    },
    async (error: unknown) => {
      console.error("bench: failed:", error);
      await cleanup().catch((cleanupError: unknown) =>
        console.error(`bench: ${String(cleanupError)}`),
      );
      process.exit(1);
    },
  );
