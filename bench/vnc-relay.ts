// Compares the VNC bridge (browser WebSocket -> console -> LXD exec of
// socat -> Xvnc) with a direct TCP path (an LXD proxy device on loopback ->
// Xvnc) to the same browser sandbox. It measures the round-trip latency of
// a small update and the throughput of full-screen updates requested one at
// a time, in raw encoding and in the encodings noVNC offers. Then it
// animates the whole screen and measures the throughput of continuous
// updates. See bench/README.md.
//
//   npx tsx bench/vnc-relay.ts [--rounds N] [--latency-samples N] [--frames N]
//                              [--connections N] [--encodings novnc|raw|both]
//                              [--continuous-seconds N]
//
// Runs as root: it starts a private LXD daemon "bench-a" (HTTPS on
// 127.0.0.1:18461) and removes it at the end, also after an error or Ctrl-C.

import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
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
import {
  startScreenAnimation,
  stopScreenAnimation,
  type AnimationTarget,
} from "./vnc-relay-animation";
import type {
  EncodingSet,
  RelayClientInput,
  RelayClientResult,
  RelayWorkerInput,
} from "./vnc-relay-client";
import type { ContinuousResult } from "./vnc-relay-continuous";
import { sandboxCpuFile } from "./vnc-relay-paths";
import { reportContinuous } from "./vnc-relay-continuous-report";
import { report } from "./vnc-relay-report";

const DAEMON_NAME = "bench-a";
const DAEMON_HTTPS_PORT = 18461;
const PROXY_DEVICE = "vnc-bench";
const DEVTOOLS_PROXY_DEVICE = "vnc-bench-devtools";
const VNC_PORT = 5900;
const DEVTOOLS_PORT = 9222;
const DEMO_PAGE_URL = "http://127.0.0.1:8080/";

const SANDBOX_READY_TIMEOUT_MS = 120_000;
// The sandbox counts as idle once it uses less than this much CPU time per
// second of wall time, because Chromium is busy for a while after it starts.
const IDLE_CPU_MS_PER_SECOND = 50;
const IDLE_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 180_000;
const PROXY_READY_TIMEOUT_MS = 20_000;
const WORKER_TIMEOUT_MS = 20 * 60_000;
// Continuous updates: the time after EnableContinuousUpdates that is not
// counted, and a bound on the time each path needs to turn them off and
// read the rest, which sets how long the page's animation may run.
const CONTINUOUS_WARMUP_MS = 500;
const CONTINUOUS_DRAIN_ALLOWANCE_MS = 2_000;
const ANIMATION_MARGIN_MS = 60_000;
const MIN_ANIMATED_SHARE = 0.99;

const ENCODING_SET_CHOICES: Record<string, EncodingSet[]> = {
  novnc: ["novnc"],
  raw: ["raw"],
  both: ["raw", "novnc"],
};

/** Resources that cleanup() removes, filled in as main() creates them. */
interface Resources {
  instance: string | null;
  /** Proxy devices added to the instance. */
  proxyDevices: string[];
  server: WebSocketServer | null;
  bridges: Set<VncBridge>;
  worker: Worker | null;
  closeLxd: (() => Promise<void>) | null;
}

const resources: Resources = {
  instance: null,
  proxyDevices: [],
  server: null,
  bridges: new Set(),
  worker: null,
  closeLxd: null,
};

type Options = Omit<
  RelayClientInput,
  "directPort" | "bridgeUrl" | "lxdPids"
> & {
  /**
   * Counting window of continuous updates per path and round, in seconds,
   * or 0 to skip them.
   */
  continuousSeconds: number;
};

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "8" },
      "latency-samples": { type: "string", default: "500" },
      frames: { type: "string", default: "15" },
      connections: { type: "string", default: "3" },
      encodings: { type: "string", default: "both" },
      "continuous-seconds": { type: "string", default: "5" },
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
    min = 1,
  ): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(
        `--${name} must be a whole number from ${min} to ${max}, not ${values[name]}`,
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
    continuousSeconds: count("continuous-seconds", 60, 0),
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
  await addLoopbackProxy(name, PROXY_DEVICE, directPort, VNC_PORT);

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
  const paths = {
    directPort,
    bridgeUrl: `ws://127.0.0.1:${bridgePort}`,
    lxdPids: [daemonPid, forkproxyPid],
  };

  step(`measuring ${options.rounds} rounds of requested updates`);
  const result = await runWorker<RelayClientResult>(
    { measurement: "request-response", ...options, ...paths },
    options.rounds,
  );
  report(result, options);

  if (options.continuousSeconds > 0) {
    const continuous = await measureContinuousUpdates(
      name,
      paths,
      result.screen,
      options,
    );
    reportContinuous(continuous);
  }
}

/**
 * Animates the sandbox's screen, measures continuous updates over both
 * paths, then stops the animation and returns the figures with the times
 * at which the page drew its frames.
 */
async function measureContinuousUpdates(
  name: string,
  paths: { directPort: number; bridgeUrl: string; lxdPids: number[] },
  screen: { width: number; height: number },
  options: Options,
): Promise<{ result: ContinuousResult; frameTimes: number[] }> {
  const devtoolsPort = await freeLoopbackPort();
  await addLoopbackProxy(
    name,
    DEVTOOLS_PROXY_DEVICE,
    devtoolsPort,
    DEVTOOLS_PORT,
  );

  const windowMs = options.continuousSeconds * 1000;
  // The warm-up window before the rounds is shorter than this bound.
  const measuringMs =
    (options.rounds + 1) *
    2 *
    (CONTINUOUS_WARMUP_MS + windowMs + CONTINUOUS_DRAIN_ALLOWANCE_MS);
  step("animating the whole screen through Chromium's DevTools protocol");
  const target: AnimationTarget = {
    devtoolsUrl: `http://127.0.0.1:${devtoolsPort}`,
    pageUrl: DEMO_PAGE_URL,
    connectTimeoutMs: PROXY_READY_TIMEOUT_MS,
  };
  const canvas = await startScreenAnimation(
    target,
    measuringMs + ANIMATION_MARGIN_MS,
  );
  // In this bench's runs, Chromium's kiosk window in the sandbox had a
  // 1439x899 viewport on the 1440x900 screen, so the last column and row of
  // the screen did not change.
  const coveredShare =
    (canvas.width * canvas.height) / (screen.width * screen.height);
  step(
    `the animation's canvas is ${canvas.width}x${canvas.height}, ` +
      `${(coveredShare * 100).toFixed(1)}% of the screen`,
  );
  if (coveredShare < MIN_ANIMATED_SHARE) {
    throw new Error(
      `The animation's canvas covers less than ${MIN_ANIMATED_SHARE * 100}% of the screen`,
    );
  }

  step(
    `measuring ${options.rounds} rounds of continuous updates, ` +
      `${options.continuousSeconds} s per path and round`,
  );
  const result = await runWorker<ContinuousResult>(
    {
      measurement: "continuous",
      ...paths,
      rounds: options.rounds,
      windowMs,
      warmupMs: CONTINUOUS_WARMUP_MS,
      sandboxCpuFile: sandboxCpuFile(name),
    },
    options.rounds,
  );

  const frameTimes = await stopScreenAnimation(target);
  await lxcOrThrow(["config", "device", "remove", name, DEVTOOLS_PROXY_DEVICE]);
  resources.proxyDevices = resources.proxyDevices.filter(
    (device) => device !== DEVTOOLS_PROXY_DEVICE,
  );
  step("stopped the animation and removed its proxy device");
  return { result, frameTimes };
}

/**
 * Adds a proxy device that listens on the host's 127.0.0.1:`listenPort`
 * and connects to the container's 127.0.0.1:`containerPort`.
 */
async function addLoopbackProxy(
  name: string,
  device: string,
  listenPort: number,
  containerPort: number,
): Promise<void> {
  step(
    `adding proxy device 127.0.0.1:${listenPort} -> 127.0.0.1:${containerPort}`,
  );
  await lxcOrThrow([
    "config",
    "device",
    "add",
    name,
    device,
    "proxy",
    `listen=tcp:127.0.0.1:${listenPort}`,
    `connect=tcp:127.0.0.1:${containerPort}`,
    "bind=host",
  ]);
  resources.proxyDevices.push(device);
}

/**
 * Runs a measurement of bench/vnc-relay-client.ts in a worker thread and
 * returns its result.
 */
function runWorker<Result>(
  input: RelayWorkerInput,
  rounds: number,
): Promise<Result> {
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
        result?: Result;
        message?: string;
      }) => {
        if (message.kind === "progress") {
          step(`round ${message.round}/${rounds} done`);
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
 * the bridge server, the proxy devices, the sandbox and the daemon. The
 * animation's canvas goes with the sandbox.
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
    for (const device of resources.proxyDevices) {
      await runLxc(DAEMON_NAME, [
        "config",
        "device",
        "remove",
        resources.instance!,
        device,
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
