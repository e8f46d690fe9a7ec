// Memory of the console with many open VNC views.
//
//   npx tsx bench/vnc-views-memory.ts [--views 24] [--sandboxes 4] [--seconds 30]
//                                     [--database postgres://...@127.0.0.1/DB]
//                                     [--encoding tight|raw]
//
// Starts a private LXD daemon (bench-mem, HTTPS on 127.0.0.1:18462) with
// browser sandboxes. Serves the production build of the console on
// 127.0.0.1:3310 with an embedded PGlite store, or with the local Postgres
// database named by --database, whose tables it empties. Then it signs in
// and opens the views through the console's own WebSocket route.
// Each view requests incremental updates several times a second, as noVNC
// does, plus a full frame every 2 s, so frames keep flowing while the
// console's resident memory is sampled. The bench prints the memory after
// warm-up with no view open (the baseline), the peak and median with all
// views open, and the memory after they closed, next to the 300 MB target.
// Everything it starts is stopped at the end, on error and on Ctrl-C.

import { spawn, type ChildProcess } from "node:child_process";
import {
  mkdir,
  mkdtemp,
  open as openFile,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import WebSocket from "ws";

import { startTestDaemon, type TestDaemon } from "@/test/harness/lxd-daemon";
import { runCommandOrThrow } from "@/test/harness/run-command";
import { vncSocketPath } from "@/lib/vnc/types";

const DAEMON = { name: "bench-mem", httpsPort: 18462 };
const CONSOLE_PORT = 3310;
const BASE_URL = `http://127.0.0.1:${CONSOLE_PORT}`;
const TARGET_MB = 300;
const OVERALL_LIMIT_MS = 15 * 60_000;
const root = path.resolve(import.meta.dirname, "..");

const { values } = parseArgs({
  options: {
    views: { type: "string", default: "24" },
    sandboxes: { type: "string", default: "4" },
    seconds: { type: "string", default: "30" },
    database: { type: "string" },
    encoding: { type: "string", default: "tight" },
  },
});
if (values.encoding !== "tight" && values.encoding !== "raw") {
  console.error(`--encoding ${values.encoding} is not known; use tight (as noVNC) or raw (5 MB a frame).`);
  process.exit(2);
}
// Tight, ZRLE, CopyRect and raw, as noVNC offers them; or raw alone, so
// every full frame is 1440 x 900 x 4 bytes.
const encodings = values.encoding === "raw" ? [0] : [7, 16, 1, 0];
const viewCount = positive("--views", values.views, 200);
const sandboxCount = positive("--sandboxes", values.sandboxes, 24);
const seconds = positive("--seconds", values.seconds, 600);

function positive(flag: string, value: string, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) {
    console.error(`${flag} ${value} is not a whole number from 1 to ${max}.`);
    process.exit(2);
  }
  return number;
}

let daemon: TestDaemon | null = null;
let server: ChildProcess | null = null;
let workDir: string | null = null;
const sockets: WebSocket[] = [];

async function cleanUp(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  if (server?.pid) {
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  await daemon?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
}

process.once("SIGINT", () => {
  console.error("Interrupted; cleaning up.");
  void cleanUp().finally(() => process.exit(130));
});
setTimeout(() => {
  console.error(
    `The benchmark ran longer than ${OVERALL_LIMIT_MS / 60_000} minutes; stopping.`,
  );
  void cleanUp().finally(() => process.exit(1));
}, OVERALL_LIMIT_MS).unref();

/** Returns the resident memory of `pid` in MB, from /proc. */
async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kilobytes = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kilobytes / 1024;
}

async function run(): Promise<void> {
  workDir = await mkdtemp(path.join(os.tmpdir(), "sandbox-console-bench-"));
  daemon = await startTestDaemon(DAEMON);
  const lxdEnv = { ...process.env, LXD_DIR: daemon.lxdDir };
  await runCommandOrThrow("scripts/sandbox-profile.sh", [], { env: lxdEnv });
  await runCommandOrThrow("scripts/build-image.sh", ["browser"], {
    env: lxdEnv,
    timeoutMs: 900_000,
  });

  const names = Array.from(
    { length: sandboxCount },
    (_, index) => `bench-vnc-${index + 1}`,
  );
  for (const name of names) {
    const launched = await daemon.lxc([
      "launch",
      "sandbox-browser",
      name,
      "--profile",
      "default",
      "--profile",
      "sandbox",
    ]);
    if (launched.code !== 0)
      throw new Error(`lxc launch ${name} failed: ${launched.stderr}`);
  }
  for (const name of names) await waitForVnc(daemon, name);

  const hostsFile = path.join(workDir, "hosts.json");
  await writeFile(
    hostsFile,
    JSON.stringify([
      { id: "bench", name: "Bench LXD", socket: daemon.socketPath },
    ]),
  );
  // The embedded PGlite store in the work folder unless --database is given.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    SANDBOX_CONSOLE_HOSTS: hostsFile,
    SANDBOX_CONSOLE_DATA: workDir,
    SANDBOX_CONSOLE_URL: BASE_URL,
    BETTER_AUTH_SECRET: "bench-only-secret-with-enough-length-0123456789",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  };
  delete env.DATABASE_URL;
  if (values.database) {
    env.DATABASE_URL = values.database;
    await runCommandOrThrow("npx", ["tsx", "e2e/support/seed-database.ts"], {
      env,
    });
  }

  await runCommandOrThrow("npx", ["tsx", "scripts/migrate.ts"], { env });
  // The seeded database already has an admin, who gets a new password.
  const adminArgs = values.database
    ? ["scripts/create-admin.ts", "--reset"]
    : ["scripts/create-admin.ts"];
  const admin = await runCommandOrThrow("npx", ["tsx", ...adminArgs], { env });
  const email = /Email:\s+(\S+)/.exec(admin.stdout)?.[1];
  const password = /Password:\s+(\S+)/.exec(admin.stdout)?.[1];
  if (!email || !password) {
    throw new Error(`create-admin printed no credentials:\n${admin.stdout}`);
  }
  await runCommandOrThrow("scripts/build-console.sh", [], {
    env,
    timeoutMs: 900_000,
  });

  // The console's log stays in test-results/ for reading after a failed run.
  await mkdir(path.join(root, "test-results"), { recursive: true });
  const logFile = await openFile(
    path.join(root, "test-results", "bench-console.log"),
    "w",
  );
  server = spawn(
    process.execPath,
    [".next/console-server.mjs", "--port", String(CONSOLE_PORT)],
    {
      cwd: root,
      env,
      detached: true,
      stdio: ["ignore", logFile.fd, logFile.fd],
    },
  );
  await logFile.close();

  const pid = server.pid;
  if (pid === undefined) throw new Error("The console did not start");
  await waitForHealth();

  const cookie = await signIn(email, password);
  // Load the pages and streams a support agent uses, so their code is in
  // memory before the baseline is taken.
  for (const page of [
    "/instances",
    "/sessions",
    "/api/sessions",
    `/instances/bench/default/${names[0]}`,
  ]) {
    await fetch(BASE_URL + page, { headers: { cookie } }).then((response) =>
      response.arrayBuffer(),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const baseline = await residentMb(pid);

  const views = await Promise.all(
    Array.from({ length: viewCount }, (_, index) =>
      openView(cookie, names[index % names.length] ?? "", index),
    ),
  );
  const samples: number[] = [];
  for (let second = 0; second < seconds; second += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    samples.push(await residentMb(pid));
  }
  const relayedBytes = views.reduce((sum, view) => sum + view.received(), 0);
  for (const view of views) view.stop();
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const open = (await (
    await fetch(`${BASE_URL}/api/sessions`, { headers: { cookie } })
  ).json()) as {
    sessions: unknown[];
  };
  const after = await residentMb(pid);

  const sorted = [...samples].sort((a, b) => a - b);
  const peak = sorted.at(-1) ?? 0;
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const rows: [string, string][] = [
    ["views / sandboxes / encoding", `${viewCount} / ${sandboxCount} / ${values.encoding}`],
    ["store", values.database ? "Postgres (--database)" : "embedded PGlite"],
    ["seconds with all views open", String(seconds)],
    [
      "relayed to the viewers",
      `${(relayedBytes / 1e6).toFixed(1)} MB (${(relayedBytes / 1e6 / seconds).toFixed(1)} MB/s)`,
    ],
    ["console RSS, warm, no views", `${baseline.toFixed(0)} MB`],
    ["console RSS, views open, median", `${median.toFixed(0)} MB`],
    ["console RSS, views open, peak", `${peak.toFixed(0)} MB`],
    [
      "added by the views (peak - baseline)",
      `${(peak - baseline).toFixed(0)} MB, ${((peak - baseline) / viewCount).toFixed(1)} MB per view`,
    ],
    [
      "peak / target",
      `${(peak / TARGET_MB).toFixed(2)} (target ${TARGET_MB} MB, so under 1.00 meets it)`,
    ],
    ["console RSS 5 s after closing", `${after.toFixed(0)} MB`],
    ["sandboxes still listed as watched", String(open.sessions.length)],
  ];
  for (const [label, value] of rows)
    console.log(`${label.padEnd(40)} ${value}`);
}

async function waitForVnc(lxd: TestDaemon, name: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const result = await lxd.lxc([
      "exec",
      name,
      "--",
      "busybox",
      "wget",
      "-qO-",
      "http://127.0.0.1:9222/json/list",
    ]);
    if (result.code === 0 && result.stdout.includes("127.0.0.1:8080")) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${name} showed no demo page within 90 s`);
}

async function waitForHealth(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${BASE_URL}/api/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `The console did not pass ${BASE_URL}/api/health within 60 s`,
  );
}

async function signIn(email: string, password: string): Promise<string> {
  const response = await fetch(`${BASE_URL}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: BASE_URL },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok)
    throw new Error(
      `Sign-in failed with ${response.status}: ${await response.text()}`,
    );
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

interface BenchView {
  received(): number;
  stop(): void;
}

/**
 * Opens one view and keeps it busy: after the handshake it offers the
 * chosen encodings, then sends an incremental update
 * request every 250 ms and a full one every 2 s. It does not decode frames.
 */
async function openView(
  cookie: string,
  name: string,
  index: number,
): Promise<BenchView> {
  const key = { host: "bench", project: "default", name };
  const socket = new WebSocket(
    BASE_URL.replace("http", "ws") +
      vncSocketPath(key, `bench-view-${index}`, "full"),
    {
      headers: { cookie, origin: BASE_URL },
    },
  );
  sockets.push(socket);
  let received = 0;
  let stage = 0;
  const timers: NodeJS.Timeout[] = [];

  await new Promise<void>((resolve, reject) => {
    socket.once("unexpected-response", (_request, response) =>
      reject(new Error(`View ${index} was rejected with HTTP ${response.statusCode}`)),
    );
    socket.once("error", reject);
    socket.on("message", (data: Buffer) => {
      received += data.length;
      // Handshake: banner, security types, security result, server init.
      if (stage === 0) {
        socket.send(Buffer.from("RFB 003.008\n", "latin1"));
        stage = 1;
      } else if (stage === 1) {
        socket.send(Buffer.from([1]));
        stage = 2;
      } else if (stage === 2) {
        socket.send(Buffer.from([1]));
        stage = 3;
      } else if (stage === 3) {
        stage = 4;
        const message = Buffer.alloc(4 + encodings.length * 4);
        message.writeUInt8(2, 0);
        message.writeUInt16BE(encodings.length, 2);
        encodings.forEach((encoding, i) =>
          message.writeInt32BE(encoding, 4 + i * 4),
        );
        socket.send(message);
        timers.push(setInterval(() => socket.send(updateRequest(true)), 250));
        timers.push(
          setInterval(() => socket.send(updateRequest(false)), 2_000),
        );
        resolve();
      }
    });
  });

  return {
    received: () => received,
    stop: () => {
      for (const timer of timers) clearInterval(timer);
      socket.close();
    },
  };
}

function updateRequest(incremental: boolean): Buffer {
  const message = Buffer.alloc(10);
  message.writeUInt8(3, 0);
  message.writeUInt8(incremental ? 1 : 0, 1);
  message.writeUInt16BE(1440, 6);
  message.writeUInt16BE(900, 8);
  return message;
}

run()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => void cleanUp());
