// Boots and removes many browser sandboxes on a private LXD daemon for the
// benchmarks, with bounded concurrency and a readiness wait per sandbox.

import { readFile, readdir, readlink } from "node:fs/promises";

import type { TestDaemon } from "@/test/harness/lxd-daemon";
import { runCommandOrThrow } from "@/test/harness/run-command";

/** The storage pool the wall's sandboxes live on. */
export const FLEET_POOL = "fleet";

export interface BootResult {
  name: string;
  /** Seconds from `lxc launch` to the demo page in Chromium, or null. */
  readySeconds: number | null;
  /** Reason the sandbox did not become ready, or null. */
  error: string | null;
}

export interface BootOptions {
  /** Sandboxes launched at once; the next starts when one is ready. */
  concurrency: number;
  /** Wait per sandbox for the demo page, in ms. */
  readyTimeoutMs: number;
  /** Wait for the whole batch, in ms; sandboxes not started by then are skipped. */
  totalTimeoutMs: number;
  /** Extra `--config` keys for each sandbox, such as lighter limits. */
  config: Record<string, string>;
}

/**
 * Prepares `daemon` for browser sandboxes: the `sandbox` profile, the
 * browser image, and a btrfs pool on a loop file. On the daemon's dir pool
 * each launch unpacks the whole 790 MB root file system and each delete
 * removes it again, about 20 s of CPU each on two cores. A btrfs launch is
 * a snapshot. Falls back to the dir pool where btrfs is unavailable.
 */
export async function prepareFleetDaemon(
  daemon: TestDaemon,
  poolSize: string,
): Promise<string> {
  const env = { ...process.env, LXD_DIR: daemon.lxdDir };
  await runCommandOrThrow("scripts/sandbox-profile.sh", [], { env });
  await runCommandOrThrow("scripts/build-image.sh", ["browser"], {
    env,
    timeoutMs: 900_000,
  });

  const created = await daemon.lxc([
    "storage",
    "create",
    FLEET_POOL,
    "btrfs",
    `size=${poolSize}`,
  ]);
  if (created.code === 0) return FLEET_POOL;
  console.error(
    `A btrfs pool could not be created (${created.stderr.trim()}); using the dir pool, ` +
      "which makes launches and deletes much slower.",
  );
  return "default";
}

/**
 * Launches `names` from the browser image with at most
 * `options.concurrency` booting at once, and waits for each one's demo
 * page. Returns one result per name; a failed sandbox does not stop the
 * others.
 */
export async function bootSandboxes(
  daemon: TestDaemon,
  names: string[],
  pool: string,
  options: BootOptions,
): Promise<BootResult[]> {
  const deadline = Date.now() + options.totalTimeoutMs;
  const results: BootResult[] = [];
  const queue = [...names];
  const configArgs = Object.entries(options.config).flatMap(([key, value]) => [
    "--config",
    `${key}=${value}`,
  ]);

  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      if (Date.now() > deadline) {
        results.push({ name, readySeconds: null, error: "not started: the boot time limit passed" });
        continue;
      }
      results.push(await bootOne(daemon, name, pool, configArgs, options.readyTimeoutMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));

  const order = new Map(names.map((name, index) => [name, index]));
  return results.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
}

async function bootOne(
  daemon: TestDaemon,
  name: string,
  pool: string,
  configArgs: string[],
  readyTimeoutMs: number,
): Promise<BootResult> {
  const started = Date.now();
  const launched = await daemon.lxc([
    "launch",
    "sandbox-browser",
    name,
    "--profile",
    "default",
    "--profile",
    "sandbox",
    "--storage",
    pool,
    ...configArgs,
  ]);
  if (launched.code !== 0) {
    return { name, readySeconds: null, error: `lxc launch failed: ${launched.stderr.trim()}` };
  }

  const deadline = started + readyTimeoutMs;
  while (Date.now() < deadline) {
    const page = await daemon.lxc([
      "exec",
      name,
      "--",
      "busybox",
      "wget",
      "-qO-",
      "http://127.0.0.1:9222/json/list",
    ]);
    if (page.code === 0 && page.stdout.includes("127.0.0.1:8080")) {
      return { name, readySeconds: (Date.now() - started) / 1000, error: null };
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return {
    name,
    readySeconds: null,
    error: `no demo page within ${readyTimeoutMs / 1000} s; ${await describeFailure(daemon, name)}`,
  };
}

/** Collects the likely causes of a failed boot: state and systemd's complaints. */
async function describeFailure(daemon: TestDaemon, name: string): Promise<string> {
  const state = await daemon.lxc(["list", name, "--format", "csv", "--columns", "s"]);
  const journal = await daemon.lxc([
    "exec",
    name,
    "--",
    "journalctl",
    "--boot",
    "--no-pager",
    "--priority",
    "warning",
    "--lines",
    "5",
  ]);
  const lines = journal.code === 0 ? journal.stdout.trim().split("\n").slice(-5) : [];
  return `state ${state.stdout.trim() || "unknown"}; journal: ${lines.join(" | ") || "(none)"}`;
}

/** Deletes `names` with bounded concurrency, ignoring ones already gone. */
export async function deleteSandboxes(
  daemon: TestDaemon,
  names: string[],
  concurrency: number,
): Promise<void> {
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      await daemon.lxc(["delete", "--force", name]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Counts the inotify instances open on the machine, from /proc. */
export async function countInotifyInstances(): Promise<number> {
  let count = 0;
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if ((await readlink(`/proc/${pid}/fd/${fd}`)) === "anon_inode:inotify") count += 1;
      } catch {
        // The process or descriptor went away.
      }
    }
  }
  return count;
}

/** Reads one integer sysctl from /proc/sys, such as "fs/inotify/max_user_instances". */
export async function readSysctl(path: string): Promise<number> {
  return Number((await readFile(`/proc/sys/${path}`, "utf8")).trim());
}
