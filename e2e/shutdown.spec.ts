import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect, test } from "@playwright/test";
import postgres from "postgres";
import WebSocket from "ws";

import { testDatabaseUrl } from "@/lib/db/test-database";
import { e2eAccounts } from "./support/accounts";
import { pidFile } from "../test/harness/lxd-daemon";
import { runCommandOrThrow } from "../test/harness/run-command";

// A second console, on its own port and database, so that stopping it
// leaves the shared console of the other specs running.
const port = 3101;
const baseUrl = `http://127.0.0.1:${port}`;
const root = path.resolve(import.meta.dirname, "..");

function ownDatabaseUrl(): string {
  const url = new URL(testDatabaseUrl());
  url.pathname = `${url.pathname}_shutdown`;
  return url.toString();
}

async function createDatabase(url: string): Promise<void> {
  const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => undefined });
  try {
    const name = new URL(url).pathname.slice(1);
    const [found] = await admin`select 1 as found from pg_database where datname = ${name}`;
    if (!found) await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

async function dropDatabase(url: string): Promise<void> {
  const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => undefined });
  try {
    const name = new URL(url).pathname.slice(1);
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

async function waitForHealth(server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`The second console exited with ${server.exitCode}`);
    const healthy = await fetch(`${baseUrl}/api/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`The second console did not pass ${baseUrl}/api/health within 60 s`);
}

async function signIn(): Promise<string> {
  const { email, password } = e2eAccounts.support;
  const response = await fetch(`${baseUrl}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: baseUrl },
    body: JSON.stringify({ email, password }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

/** Opens a full view of the demo sandbox and resolves once the RFB banner arrives. */
async function openView(cookie: string, viewId: string): Promise<WebSocket> {
  const socket = new WebSocket(
    `ws://127.0.0.1:${port}/api/hosts/e2e/instances/demo-browser/vnc?project=default&view=${viewId}`,
    { headers: { cookie, origin: baseUrl } },
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("message", () => resolve());
    socket.once("unexpected-response", (_request, response) =>
      reject(new Error(`The upgrade was rejected with ${response.statusCode}`)),
    );
    socket.once("error", reject);
  });
  return socket;
}

interface SecondConsole {
  server: ChildProcess;
  databaseUrl: string;
  exited: Promise<number | null>;
}

/** Seeds the second console's database and starts the console on it. */
async function startSecondConsole(workDir: string): Promise<SecondConsole> {
  const lxdDir = process.env.E2E_LXD_DIR;
  if (!lxdDir) throw new Error("E2E_LXD_DIR is unset: run the specs through the Playwright global setup");
  const databaseUrl = ownDatabaseUrl();
  await createDatabase(databaseUrl);
  await runCommandOrThrow("npx", ["tsx", "e2e/support/seed-database.ts"], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeoutMs: 120_000,
  });
  const hostsFile = path.join(workDir, "hosts.json");
  await writeFile(
    hostsFile,
    JSON.stringify([{ id: "e2e", name: "Test LXD", socket: path.join(lxdDir, "unix.socket") }]),
  );

  const server = spawn(
    process.execPath,
    [".next/console-server.mjs", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: "production",
        DATABASE_URL: databaseUrl,
        SANDBOX_CONSOLE_HOSTS: hostsFile,
        SANDBOX_CONSOLE_URL: baseUrl,
        SANDBOX_CONSOLE_DATA: workDir,
        SANDBOX_CONSOLE_AUDIT_WITNESS: path.join(workDir, "audit-witness.jsonl"),
        BETTER_AUTH_SECRET: "e2e-only-secret-with-enough-length-0123456789",
        NEXT_TELEMETRY_DISABLED: "1",
      },
      stdio: "ignore",
    },
  );
  const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
  await waitForHealth(server);
  return { server, databaseUrl, exited };
}

interface ViewRow {
  action: string;
  phase: string;
  result: string;
  view_id: string;
  reason: string | null;
}

/** Reads the second console's VNC view rows and counts its intent rows without an outcome. */
async function readViewRows(databaseUrl: string) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql<ViewRow[]>`
      select action, phase, result, params->>'viewId' as view_id, params->>'reason' as reason
      from audit_events where action like 'vnc.view.%' order by id`;
    const unfinished = await sql`
      select correlation_id from audit_events where phase = 'intent'
      except select correlation_id from audit_events where phase = 'outcome'`;
    return { rows, unfinished: unfinished.length };
  } finally {
    await sql.end();
  }
}

function rowsOf(rows: ViewRow[], viewId: string) {
  return rows
    .filter((row) => row.view_id === viewId)
    .map((row) => [row.action, row.phase, row.result, row.reason]);
}

test.describe("stopping the console", () => {
  let workDir: string;
  let second: SecondConsole | null = null;

  test.beforeEach(async () => {
    test.setTimeout(180_000);
    workDir = await mkdtemp(path.join(os.tmpdir(), "sandbox-console-shutdown-"));
    second = await startSecondConsole(workDir);
  });

  test.afterEach(async () => {
    if (second?.server.exitCode === null) second.server.kill("SIGKILL");
    second = null;
    await rm(workDir, { recursive: true, force: true });
  });

  test.afterAll(async () => {
    await dropDatabase(ownDatabaseUrl());
  });

  test("closes open views and audits them", async () => {
    const { server, databaseUrl, exited } = second!;
    const cookie = await signIn();
    const viewIds = ["shutdown-view-0001", "shutdown-view-0002"];
    const sockets = await Promise.all(viewIds.map((viewId) => openView(cookie, viewId)));
    const closes = sockets.map(
      (socket) => new Promise<number>((resolve) => socket.once("close", (code) => resolve(code))),
    );

    server.kill("SIGTERM");
    // The console closes its views with 1001 (going away) and exits within
    // its 8 s grace.
    expect(await Promise.all(closes)).toEqual([1001, 1001]);
    expect(await exited).toBe(0);

    const { rows, unfinished } = await readViewRows(databaseUrl);
    for (const viewId of viewIds) {
      expect(rowsOf(rows, viewId)).toEqual([
        ["vnc.view.open", "intent", "pending", null],
        ["vnc.view.open", "outcome", "success", null],
        ["vnc.view.close", "event", "success", "closed_by_console"],
      ]);
    }
    expect(unfinished).toBe(0);
  });

  test("audits a view whose exec does not end", async () => {
    const { server, databaseUrl, exited } = second!;
    const cookie = await signIn();
    const viewId = "shutdown-view-0003";
    await openView(cookie, viewId);

    // With the LXD daemon stopped, the view's exec cannot end, so the
    // console writes the close row itself before it exits.
    const daemonName = path.basename(process.env.E2E_LXD_DIR ?? "");
    const lxdPid = Number((await readFile(pidFile(daemonName), "utf8")).trim());
    process.kill(lxdPid, "SIGSTOP");
    try {
      server.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      process.kill(lxdPid, "SIGCONT");
    }

    const { rows, unfinished } = await readViewRows(databaseUrl);
    expect(rowsOf(rows, viewId)).toEqual([
      ["vnc.view.open", "intent", "pending", null],
      ["vnc.view.open", "outcome", "success", null],
      ["vnc.view.close", "event", "success", "console_stopped"],
    ]);
    expect(unfinished).toBe(0);
  });
});
