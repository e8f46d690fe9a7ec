/**
 * Records the JSON fixtures in lib/lxd/fixtures/ from a real private daemon:
 *
 *   npx tsx test/harness/record-fixtures.ts
 *
 * It starts the test daemon `fixtures` (HTTPS on 127.0.0.1:18449), creates
 * instances from the test-tiny image, saves LXD's raw responses and events,
 * and removes the daemon again. Certificates, fingerprints and exec secrets
 * are replaced by placeholders.
 */
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import { Agent } from "undici";
import WebSocket from "ws";

import { startTestDaemon, type TestDaemon } from "./lxd-daemon";
import { importTinyImage } from "./tiny-image";

const FIXTURE_DIR = path.resolve(import.meta.dirname, "../../lib/lxd/fixtures");

interface RawResponse {
  request: { method: string; path: string };
  status: number;
  etag: string | null;
  body: unknown;
}

async function main(): Promise<void> {
  const daemon = await startTestDaemon({ name: "fixtures", httpsPort: 18449 });
  try {
    await importTinyImage(daemon);
    await record(daemon);
  } finally {
    await daemon.stop();
  }
}

async function record(daemon: TestDaemon): Promise<void> {
  const agent = new Agent({ connect: { socketPath: daemon.socketPath } });
  const call = async (
    method: string,
    apiPath: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> => {
    const response = await agent.request({
      origin: "http://lxd",
      method,
      path: apiPath,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const etag = response.headers.etag;
    return {
      request: { method, path: apiPath },
      status: response.statusCode,
      etag: typeof etag === "string" ? etag : null,
      body: await response.body.json(),
    };
  };
  const lxc = async (args: string[]) => {
    const result = await daemon.lxc(args);
    if (result.code !== 0) {
      throw new Error(`lxc ${args.join(" ")} failed: ${result.stderr}`);
    }
  };

  // A running instance with a memory limit and a snapshot, a stopped one
  // that never ran, and a running one in a second project.
  await lxc(["launch", "test-tiny", "web-1", "-c", "limits.memory=256MiB"]);
  await lxc(["snapshot", "web-1", "snap0"]);
  await lxc(["init", "test-tiny", "idle-1"]);
  await lxc(["config", "set", "idle-1", "user.note=never started"]);
  await lxc([
    "project",
    "create",
    "team-a",
    "-c",
    "features.images=false",
    "-c",
    "features.profiles=false",
  ]);
  await lxc(["launch", "test-tiny", "py-1", "--project", "team-a"]);

  const events = await collectEvents(daemon.socketPath);

  await save("server.json", await call("GET", "/1.0"));
  await save(
    "instances-all-projects.json",
    await call("GET", "/1.0/instances?recursion=2&all-projects=true"),
  );
  await save(
    "instance-full.json",
    await call("GET", "/1.0/instances/web-1?recursion=1"),
  );
  await save(
    "error-not-found.json",
    await call("PUT", "/1.0/instances/missing-1/state", { action: "start" }),
  );
  await save(
    "error-etag-mismatch.json",
    await call(
      "PATCH",
      "/1.0/instances/idle-1",
      { description: "x" },
      {
        "if-match": '"0000"',
      },
    ),
  );

  const start = await call("PUT", "/1.0/instances/idle-1/state", {
    action: "start",
    timeout: 30,
  });
  await save("async-start.json", start);
  const startId = (start.body as { metadata: { id: string } }).metadata.id;
  await save(
    "operation-wait-success.json",
    await call("GET", `/1.0/operations/${startId}/wait?timeout=30`),
  );

  // LXC cannot execute a missing init, so this start fails inside its
  // operation rather than being rejected up front.
  await lxc(["init", "test-tiny", "broken-1"]);
  await lxc([
    "config",
    "set",
    "broken-1",
    "raw.lxc",
    "lxc.init.cmd = /nonexistent",
  ]);
  const failing = await call("PUT", "/1.0/instances/broken-1/state", {
    action: "start",
    timeout: 30,
  });
  const failingId = (failing.body as { metadata: { id: string } }).metadata.id;
  await save(
    "operation-wait-failure.json",
    await call("GET", `/1.0/operations/${failingId}/wait?timeout=30`),
  );

  const exec = await call("POST", "/1.0/instances/web-1/exec", {
    command: ["sleep", "1"],
    interactive: false,
    "wait-for-websocket": true,
  });
  await save("async-exec.json", exec);
  const execId = (exec.body as { metadata: { id: string } }).metadata.id;
  await save(
    "operation-wait-timeout.json",
    await call("GET", `/1.0/operations/${execId}/wait?timeout=1`),
  );

  await lxc(["stop", "web-1"]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await save("events.json", events.stop());
  await agent.close();
}

/** Collects lifecycle and operation events until `stop` is called. */
async function collectEvents(
  socketPath: string,
): Promise<{ stop(): unknown[] }> {
  const received: unknown[] = [];
  const socket = new WebSocket(
    "ws://lxd/1.0/events?type=lifecycle,operation&all-projects=true",
    {
      createConnection: (() =>
        net.connect({
          path: socketPath,
        })) as unknown as typeof net.createConnection,
    },
  );
  socket.on("message", (data: Buffer) => received.push(JSON.parse(data.toString("utf8"))));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return {
    stop: () => {
      socket.close();
      return received;
    },
  };
}

async function save(name: string, value: unknown): Promise<void> {
  await fs.mkdir(FIXTURE_DIR, { recursive: true });
  const text = JSON.stringify(scrub(value), null, 2);
  await fs.writeFile(path.join(FIXTURE_DIR, name), `${text}\n`);
  console.log(`recorded ${name}`);
}

/** Replaces certificates, fingerprints and secrets with placeholders. */
function scrub(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((item) => scrub(item));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([entryKey, entry]) => [
        entryKey,
        scrub(entry, entryKey),
      ]),
    );
  }
  if (typeof value !== "string") return value;

  if (key === "certificate")
    return "-----BEGIN CERTIFICATE-----\n(scrubbed)\n-----END CERTIFICATE-----\n";
  if (key === "certificate_fingerprint" || key === "volatile.base_image") {
    return "0".repeat(64);
  }
  // Exec WebSocket secrets are keyed by fd.
  if (/^(0|1|2|control)$/.test(key) && /^[0-9a-f]{64}$/.test(value)) {
    return "f".repeat(64);
  }
  if (key === "username" && /^[0-9a-f]{64}$/.test(value)) {
    return "0".repeat(64);
  }
  return value;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
