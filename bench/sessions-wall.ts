// The sessions wall with many live tiles, in a real browser.
//
//   npx tsx bench/sessions-wall.ts [--sandboxes 24] [--concurrency 3]
//       [--seconds 20] [--clicks 3] [--memory-limit 1GiB] [--viewport 2560x1440]
//       [--database postgres://postgres@127.0.0.1:5432/h_vnc] [--skip-build]
//
// Starts a private LXD daemon (vnc-wall, HTTPS on 127.0.0.1:18491) and boots
// one browser sandbox. Serves the production build of the console on
// 127.0.0.1:3430 with the named local Postgres database, whose tables it
// empties. Opens /sessions in Debian's Chromium through Playwright.
// It measures the wall with that one tile, boots the other sandboxes a few
// at a time, and measures the wall again with all of them. Each time it
// measures both tile renderings: noVNC's canvas scaled by CSS, as before
// (/sessions?tiles=scaled-canvas), and the thumbnail canvas (/sessions).
// It prints all four sets of figures and their ratios, and saves a
// screenshot of the full wall as test-results/sessions-wall.png. Everything
// it starts is stopped at the end, on error, on Ctrl-C and after the hard
// time limit.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, open as openFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import { chromium, type Browser, type Page } from "@playwright/test";
import postgres from "postgres";

import { e2eAccounts } from "@/e2e/support/accounts";
import { startTestDaemon, type TestDaemon } from "@/test/harness/lxd-daemon";
import { runCommand, runCommandOrThrow } from "@/test/harness/run-command";

import {
  bootSandboxes,
  countInotifyInstances,
  deleteSandboxes,
  prepareFleetDaemon,
  readSysctl,
  type BootResult,
} from "./sandbox-fleet";
import { sampleProcesses, type ProcessSample } from "./process-cpu";
import { WALL_PAGE_SCRIPT, type WallPageProbe } from "./sessions-wall-page";
import type { TileRendering } from "@/components/vnc/tile-viewer";

const DAEMON = { name: "vnc-wall", httpsPort: 18491 };
const HOST_ID = "wall";
const CONSOLE_PORT = 3430;
const BASE_URL = `http://127.0.0.1:${CONSOLE_PORT}`;
const HARD_LIMIT_MS = 30 * 60_000;
// Measured in this order: the rendering before thumbnails, then the current.
const TILE_RENDERINGS: TileRendering[] = ["scaled-canvas", "thumbnail"];
const CLEANUP_LIMIT_MS = 4 * 60_000;
const root = path.resolve(import.meta.dirname, "..");
const consoleLogPath = path.join(root, "test-results", "bench-wall-console.log");

const { values } = parseArgs({
  options: {
    sandboxes: { type: "string", default: "24" },
    concurrency: { type: "string", default: "3" },
    seconds: { type: "string", default: "20" },
    clicks: { type: "string", default: "3" },
    "memory-limit": { type: "string", default: "1GiB" },
    "pool-size": { type: "string", default: "16GiB" },
    viewport: { type: "string", default: "2560x1440" },
    "skip-build": { type: "boolean", default: false },
    database: {
      type: "string",
      default: "postgres://postgres@127.0.0.1:5432/h_vnc",
    },
  },
});
const sandboxCount = wholeNumber("--sandboxes", values.sandboxes, 2, 48);
const concurrency = wholeNumber("--concurrency", values.concurrency, 1, 8);
const steadySeconds = wholeNumber("--seconds", values.seconds, 5, 300);
const clicks = wholeNumber("--clicks", values.clicks, 1, 10);
const viewport = parseViewport(values.viewport);
const databaseUrl = values.database;
if (!["127.0.0.1", "localhost"].includes(new URL(databaseUrl).hostname)) {
  fail(`--database ${databaseUrl} is not on this machine; the bench empties its tables.`);
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    fail(`${flag} ${value} is not a whole number from ${min} to ${max}.`);
  }
  return number;
}

// Tiles connect only near the viewport, so every tile must fit on screen:
// at the wall's minimum tile width of 17rem, 24 tiles need about 2560x1440.
function parseViewport(value: string): { width: number; height: number } {
  const match = /^(\d{3,4})x(\d{3,4})$/.exec(value);
  if (!match) fail(`--viewport ${value} is not WIDTHxHEIGHT in pixels, such as 2560x1440.`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

let daemon: TestDaemon | null = null;
let server: ChildProcess | null = null;
let browser: Browser | null = null;
let workDir: string | null = null;
let cleaning: Promise<void> | null = null;
const names = Array.from(
  { length: sandboxCount },
  (_, index) => `wall-${String(index + 1).padStart(2, "0")}`,
);

/** Stops the browser, the console, the sandboxes and the daemon, once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await browser?.close().catch(() => {});
    if (server?.pid) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    if (daemon) {
      const started = Date.now();
      await deleteSandboxes(daemon, names, 4);
      await daemon.stop();
      console.log(`Cleanup: sandboxes and daemon removed in ${secondsSince(started)} s`);
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function exitAfterCleanup(code: number): void {
  const timer = setTimeout(() => {
    console.error(
      `Cleanup took over ${CLEANUP_LIMIT_MS / 60_000} min; run ` +
        `"LXD_DIR=/var/lib/sandbox-console-test/${DAEMON.name} lxd shutdown" by hand.`,
    );
    process.exit(code || 1);
  }, CLEANUP_LIMIT_MS);
  void cleanUp().finally(() => {
    clearTimeout(timer);
    process.exit(code);
  });
}

process.once("SIGINT", () => {
  console.error("Interrupted; cleaning up.");
  exitAfterCleanup(130);
});
process.once("SIGTERM", () => exitAfterCleanup(143));
setTimeout(() => {
  console.error(`The bench ran longer than ${HARD_LIMIT_MS / 60_000} min; stopping.`);
  exitAfterCleanup(1);
}, HARD_LIMIT_MS - CLEANUP_LIMIT_MS).unref();

function secondsSince(start: number): string {
  return ((Date.now() - start) / 1000).toFixed(1);
}

/** Figures of one wall measurement. */
interface WallFigures {
  tiles: number;
  rendering: TileRendering;
  /** Navigation start to a painted frame in every tile, in ms. */
  allFramesMs: number;
  /** Per tile, navigation start to its first painted frame, in ms. */
  tileFrameMs: number[];
  steady: {
    longTasks: number;
    longTaskMs: number;
    maxLongTaskMs: number;
    /** Animation frames per second of the page's main thread. */
    framesPerSecond: number;
    /** Maximum gap between animation frames, in ms. */
    maxFrameGapMs: number;
  };
  /** Click on a tile to the full view's element, in ms, per click. */
  clickToViewMs: number[];
  /** Click on a tile to a painted frame in the full view, in ms, per click. */
  clickToFrameMs: number[];
  /** Maximum Event Timing duration of a click (input delay to next paint), in ms. */
  clickEventMs: number[];
  /** Back on the wall: navigation to a frame in every tile again, in ms. */
  backToFramesMs: number[];
  processes: ProcessSample;
  consoleRssMb: { median: number; peak: number };
  /** Tile bridges that opened while the wall loaded, from the console's log. */
  bridgeOpens: {
    /** Per tile connection, from the upgrade request to the 101 response, in ms. */
    acceptMs: number[];
    /** Per bridge, the time LXD took to start socat, in ms. */
    execStartMs: number[];
    /** Navigation start to the last bridge's open, in ms. */
    lastOpenMs: number;
  };
}

async function run(): Promise<void> {
  const started = Date.now();
  workDir = await mkdtemp(path.join(os.tmpdir(), "sandbox-console-wall-"));

  const raised = await runCommandOrThrow("scripts/raise-inotify-limits.sh", []);
  if (raised.stdout.trim()) console.log(raised.stdout.trim());
  console.log(
    `fs.inotify.max_user_instances ${await readSysctl("fs/inotify/max_user_instances")}, ` +
      `inotify instances open before the boot: ${await countInotifyInstances()}`,
  );

  daemon = await startTestDaemon(DAEMON);
  const pool = await prepareFleetDaemon(daemon, values["pool-size"]);
  const bootOptions = {
    concurrency,
    readyTimeoutMs: 150_000,
    totalTimeoutMs: 9 * 60_000,
    config: { "limits.memory": values["memory-limit"] },
  };
  const [first] = await bootSandboxes(daemon, names.slice(0, 1), pool, bootOptions);
  if (!first?.readySeconds) throw new Error(`${names[0]} did not boot: ${first?.error}`);
  console.log(`${names[0]} ready in ${first.readySeconds.toFixed(1)} s (pool ${pool})`);

  const consolePid = await startConsole(daemon);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport, baseURL: BASE_URL });
  await context.addCookies(await signIn());
  await context.addInitScript(WALL_PAGE_SCRIPT);
  const page = await context.newPage();
  const lxdPid = await daemonPid();

  const measured: WallFigures[] = [];
  for (const rendering of TILE_RENDERINGS) {
    measured.push(await measureWall(page, 1, rendering, consolePid, lxdPid));
  }
  // The wall would connect each new sandbox's tile while it boots.
  await page.goto("about:blank");

  const bootStarted = Date.now();
  const rest = await bootSandboxes(daemon, names.slice(1), pool, bootOptions);
  const boots = [first, ...rest];
  const ready = boots.filter((boot) => boot.readySeconds !== null);
  printBoots(boots, secondsSince(bootStarted));
  console.log(`inotify instances open with ${ready.length} sandboxes: ${await countInotifyInstances()}`);
  if (ready.length < 2) throw new Error("Fewer than two sandboxes booted; nothing to compare.");

  for (const rendering of TILE_RENDERINGS) {
    measured.push(await measureWall(page, ready.length, rendering, consolePid, lxdPid));
  }
  await page.goto("/sessions");
  await waitForFrames(page, ready.length, 120_000);
  await mkdir(path.join(root, "test-results"), { recursive: true });
  await page.screenshot({ path: path.join(root, "test-results", "sessions-wall.png") });

  printFigures(measured);
  // Closing the browser ends every view, and stopping the console makes
  // the tile watches write their close rows without waiting out their window.
  await browser.close();
  await stopConsole();
  printAuditRows(await countVncAuditRows(), 2 * TILE_RENDERINGS.length * (clicks + 1) + 1);
  console.log(`Machine: ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load ${os.loadavg().map((l) => l.toFixed(2)).join(", ")}`);
  console.log(`Total time before cleanup: ${secondsSince(started)} s`);
}

async function startConsole(lxd: TestDaemon): Promise<number> {
  if (!workDir) throw new Error("No work folder");
  const hostsFile = path.join(workDir, "hosts.json");
  await writeFile(
    hostsFile,
    JSON.stringify([{ id: HOST_ID, name: "Wall LXD", socket: lxd.socketPath }]),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    DATABASE_URL: databaseUrl,
    SANDBOX_CONSOLE_HOSTS: hostsFile,
    SANDBOX_CONSOLE_DATA: workDir,
    SANDBOX_CONSOLE_URL: BASE_URL,
    BETTER_AUTH_SECRET: "bench-only-secret-with-enough-length-0123456789",
    // At info level the console logs each bridge's open with its socat
    // start time, which the bench reads back.
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };

  await ensureDatabase();
  await runCommandOrThrow("npx", ["tsx", "e2e/support/seed-database.ts"], { env });
  // Next builds share the checkout's .next folder, so they take the e2e
  // lock. --skip-build serves a build made beforehand without queueing for it.
  if (!values["skip-build"]) {
    await runCommandOrThrow(
      "flock",
      ["/tmp/sandbox-console-e2e.lock", "scripts/build-console.sh"],
      { env, timeoutMs: 900_000 },
    );
  }

  await mkdir(path.join(root, "test-results"), { recursive: true });
  const logFile = await openFile(consoleLogPath, "w");
  server = spawn(process.execPath, [".next/console-server.mjs", "--port", String(CONSOLE_PORT)], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", logFile.fd, logFile.fd],
  });
  await logFile.close();
  if (server.pid === undefined) throw new Error("The console did not start");

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const healthy = await fetch(`${BASE_URL}/api/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return server.pid;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`The console did not pass ${BASE_URL}/api/health within 60 s`);
}

/**
 * Reads the "VNC upgrade accepted" and "VNC bridge opened" lines of tiles
 * that the console logged after byte `offset` of its log. Returns each
 * upgrade's time to its 101 response, each socat start time, and when the
 * last bridge opened, counted from `since` (ms since the epoch).
 */
async function readTileBridgeOpens(offset: number, since: number): Promise<WallFigures["bridgeOpens"]> {
  const text = (await readFile(consoleLogPath)).subarray(offset).toString("utf8");
  const acceptMs: number[] = [];
  const execStartMs: number[] = [];
  let lastOpen = since;
  for (const line of text.split("\n")) {
    if (line.includes('"VNC upgrade accepted"')) {
      const entry = JSON.parse(line) as { mode?: string; acceptMs?: number };
      if (entry.mode === "tile" && entry.acceptMs !== undefined) acceptMs.push(entry.acceptMs);
      continue;
    }
    if (!line.includes('"VNC bridge opened"')) continue;
    const entry = JSON.parse(line) as { time: number; mode?: string; execStartMs?: number };
    if (entry.mode !== "tile" || entry.execStartMs === undefined) continue;
    execStartMs.push(entry.execStartMs);
    lastOpen = Math.max(lastOpen, entry.time);
  }
  return { acceptMs, execStartMs, lastOpenMs: lastOpen - since };
}

async function ensureDatabase(): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const exists = await runCommand("psql", [
    "-h", "127.0.0.1", "-U", "postgres", "-tAc",
    `select 1 from pg_database where datname = '${name.replaceAll("'", "''")}'`,
  ]);
  if (exists.stdout.trim() !== "1") {
    await runCommandOrThrow("createdb", ["-h", "127.0.0.1", "-U", "postgres", name]);
  }
}

async function signIn() {
  const { email, password } = e2eAccounts.admin;
  const response = await fetch(`${BASE_URL}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: BASE_URL },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) {
    throw new Error(`Sign-in of ${email} failed with ${response.status}: ${await response.text()}`);
  }
  return response.headers.getSetCookie().map((line) => {
    const [pair = ""] = line.split(";");
    const separator = pair.indexOf("=");
    return {
      name: pair.slice(0, separator),
      value: pair.slice(separator + 1),
      url: BASE_URL,
    };
  });
}

async function daemonPid(): Promise<number> {
  const text = await readFile(`/var/lib/sandbox-console-test/${DAEMON.name}.pid`, "utf8");
  return Number(text.trim());
}

async function stopConsole(): Promise<void> {
  const running = server;
  if (!running?.pid || running.exitCode !== null) return;
  const exited = new Promise((resolve) => running.once("exit", resolve));
  process.kill(-running.pid, "SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
}

interface AuditRowCount {
  action: string;
  mode: string | null;
  rows: number;
  /** Sum of the close rows' tile connections, for tile watches. */
  connections: number;
}

async function countVncAuditRows(): Promise<AuditRowCount[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ action: string; mode: string | null; rows: string; connections: string | null }[]>`
      select action, params->>'mode' as mode, count(*) as rows,
             sum((params->>'connections')::int) as connections
      from audit_events where action like 'vnc.%'
      group by 1, 2 order by 1, 2`;
    return rows.map((row) => ({
      action: row.action,
      mode: row.mode,
      rows: Number(row.rows),
      connections: Number(row.connections ?? 0),
    }));
  } finally {
    await sql.end();
  }
}

function printAuditRows(counts: AuditRowCount[], wallLoads: number): void {
  console.log(`\nAudit rows of VNC views (${wallLoads} wall loads in all):`);
  for (const count of counts) {
    const connections =
      count.action === "vnc.view.close" && count.mode === "tile"
        ? `, covering ${count.connections} tile connections`
        : "";
    console.log(`  ${count.action} (${count.mode ?? "no mode"}): ${count.rows}${connections}`);
  }
}

/**
 * Loads the wall, waits for a frame in each of `tiles` tiles, then samples
 * the page, the console and the machine for the steady window, and finally
 * opens `clicks` tiles' full views and comes back each time.
 */
async function measureWall(
  page: Page,
  tiles: number,
  rendering: TileRendering,
  consolePid: number,
  lxdPid: number,
): Promise<WallFigures> {
  const logStart = (await stat(consoleLogPath)).size;
  const loadStarted = Date.now();
  await page.goto(rendering === "thumbnail" ? "/sessions" : `/sessions?tiles=${rendering}`);
  await page.getByRole("heading", { name: "Sessions" }).waitFor();
  const shown = await page.locator('[data-testid^="session-tile-"]').count();
  if (shown !== tiles) throw new Error(`The wall shows ${shown} tiles, expected ${tiles}`);
  const frames = await waitForFrames(page, tiles, 180_000);
  const bridgeOpens = await readTileBridgeOpens(logStart, loadStarted);

  await page.evaluate(() => (window as unknown as WallPageProbe).wallProbe.startSteady());
  const rss: number[] = [];
  const processes = await sampleProcesses(
    { console: consolePid, lxd: lxdPid, bench: process.pid },
    steadySeconds * 1000,
    async () => {
      rss.push(await residentMb(consolePid));
    },
  );
  const steady = await page.evaluate(() =>
    (window as unknown as WallPageProbe).wallProbe.stopSteady(),
  );

  const clickToViewMs: number[] = [];
  const clickToFrameMs: number[] = [];
  const clickEventMs: number[] = [];
  const backToFramesMs: number[] = [];
  for (let index = 0; index < clicks; index += 1) {
    const tile = page.locator('[data-testid^="session-tile-"]').nth(index % tiles);
    const link = tile.getByRole("link", { name: /^Open the live view of/ });
    const clicked = Date.now();
    await link.click();
    const viewer = page.getByTestId("vnc-viewer");
    await viewer.waitFor();
    clickToViewMs.push(Date.now() - clicked);
    await page.waitForFunction(
      () => (window as unknown as WallPageProbe).wallProbe.viewerHasFrame(),
      undefined,
      { timeout: 60_000, polling: 50 },
    );
    clickToFrameMs.push(Date.now() - clicked);
    clickEventMs.push(
      await page.evaluate(() => (window as unknown as WallPageProbe).wallProbe.takeClickEventMs()),
    );

    // The full view opens over the wall, and Back closes it without a page
    // load, so the page's clock keeps running and the bench times it.
    const back = Date.now();
    await page.goBack();
    await page.getByTestId("session-view-dialog").waitFor({ state: "detached" });
    await page.getByRole("heading", { name: "Sessions" }).waitFor();
    await waitForFrames(page, tiles, 180_000);
    backToFramesMs.push(Date.now() - back);
  }

  const sorted = [...rss].sort((a, b) => a - b);
  return {
    tiles,
    rendering,
    ...frames,
    steady,
    clickToViewMs,
    clickToFrameMs,
    clickEventMs,
    backToFramesMs,
    processes,
    bridgeOpens,
    consoleRssMb: {
      median: sorted[Math.floor(sorted.length / 2)] ?? 0,
      peak: sorted.at(-1) ?? 0,
    },
  };
}

async function waitForFrames(
  page: Page,
  tiles: number,
  timeoutMs: number,
): Promise<Pick<WallFigures, "allFramesMs" | "tileFrameMs">> {
  const handle = await page.waitForFunction(
    (count) => (window as unknown as WallPageProbe).wallProbe.tileFrames(count),
    tiles,
    { timeout: timeoutMs, polling: 100 },
  );
  const tileFrameMs = (await handle.jsonValue()) as number[];
  return { allFramesMs: Math.max(...tileFrameMs), tileFrameMs };
}

async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0") / 1024;
}

function printBoots(boots: BootResult[], seconds: string): void {
  const ready = boots.filter((boot) => boot.readySeconds !== null);
  const times = ready.map((boot) => boot.readySeconds ?? 0).sort((a, b) => a - b);
  console.log(
    `Booted ${ready.length} of ${boots.length} sandboxes (${concurrency} at a time, ` +
      `the last ${boots.length - 1} in ${seconds} s); launch to demo page: ` +
      `median ${median(times).toFixed(1)} s, max ${(times.at(-1) ?? 0).toFixed(1)} s`,
  );
  for (const boot of boots) {
    if (boot.error) console.log(`  ${boot.name}: ${boot.error}`);
  }
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Prints one column per measurement, then for each tile rendering the
 * ratio of many tiles to one, and for each later rendering the ratio to the
 * first one with many tiles.
 */
function printFigures(measured: WallFigures[]): void {
  const rows: [string, (figures: WallFigures) => number, number][] = [
    ["load to a frame in every tile (ms)", (f) => f.allFramesMs, 0],
    ["load to a frame in a tile, median (ms)", (f) => median(f.tileFrameMs), 0],
    ["load to the last tile bridge open (ms)", (f) => f.bridgeOpens.lastOpenMs, 0],
    ["tile bridges opened during the load", (f) => f.bridgeOpens.execStartMs.length, 0],
    ["tile upgrade to its 101 response, median (ms)", (f) => median(f.bridgeOpens.acceptMs), 0],
    ["tile upgrade to its 101 response, sum (ms)", (f) => f.bridgeOpens.acceptMs.reduce((a, b) => a + b, 0), 0],
    ["socat start through LXD exec, median (ms)", (f) => median(f.bridgeOpens.execStartMs), 0],
    ["socat start through LXD exec, slowest (ms)", (f) => Math.max(0, ...f.bridgeOpens.execStartMs), 0],
    ["back on the wall to a frame in every tile, median (ms)", (f) => median(f.backToFramesMs), 0],
    ["long tasks in the steady window", (f) => f.steady.longTasks, 0],
    ["long task time per second (ms)", (f) => f.steady.longTaskMs / steadySeconds, 1],
    ["longest long task (ms)", (f) => f.steady.maxLongTaskMs, 0],
    ["page animation frames per second", (f) => f.steady.framesPerSecond, 1],
    ["longest gap between animation frames (ms)", (f) => f.steady.maxFrameGapMs, 0],
    ["click on a tile to the full view, median (ms)", (f) => median(f.clickToViewMs), 0],
    ["click on a tile to a frame in the full view, median (ms)", (f) => median(f.clickToFrameMs), 0],
    ["click event duration, worst (ms)", (f) => Math.max(...f.clickEventMs), 0],
    ["console RSS, median (MB)", (f) => f.consoleRssMb.median, 0],
    ["console RSS, peak (MB)", (f) => f.consoleRssMb.peak, 0],
    ["console CPU (% of one core)", (f) => f.processes.consolePercent, 1],
    ["LXD daemon CPU (% of one core)", (f) => f.processes.lxdPercent, 1],
    ["bench and Chromium CPU (% of one core)", (f) => f.processes.benchPercent, 1],
    ["machine CPU busy (% of all cores)", (f) => f.processes.machineBusyPercent, 1],
  ];
  type Ratio = [name: string, base: WallFigures | undefined, other: WallFigures | undefined];
  const one = (rendering: TileRendering) =>
    measured.find((f) => f.tiles === 1 && f.rendering === rendering);
  const many = (rendering: TileRendering) =>
    measured.find((f) => f.tiles > 1 && f.rendering === rendering);
  const [first = "scaled-canvas", ...later] = TILE_RENDERINGS;
  const ratios: Ratio[] = [
    ...TILE_RENDERINGS.map((rendering): Ratio => [`${rendering} n/1`, one(rendering), many(rendering)]),
    ...later.map((rendering): Ratio => [`n: ${rendering}/${first}`, many(first), many(rendering)]),
  ];

  const width = 14;
  const column = (text: string) => text.slice(0, width).padStart(width);
  console.log(
    `\nColumns: ${measured.map((f) => `${f.tiles} x ${f.rendering}`).join("; ")}; ` +
      `then ratios: ${ratios.map(([name]) => name).join("; ")}`,
  );
  for (const [name, read, digits] of rows) {
    const values = measured.map((f) => column(read(f).toFixed(digits))).join(" ");
    const ratioText = ratios
      .map(([, base, other]) => {
        const baseValue = base ? read(base) : 0;
        const ratio = base && other && baseValue > 0 ? (read(other) / baseValue).toFixed(2) : "-";
        return column(ratio);
      })
      .join(" ");
    console.log(`${name.padEnd(58)} ${values} ${ratioText}`);
  }
  console.log(`steady window: ${steadySeconds} s; clicks per wall: ${clicks}`);
}

run()
  .then(() => exitAfterCleanup(0))
  .catch((error: unknown) => {
    console.error(error);
    exitAfterCleanup(1);
  });
