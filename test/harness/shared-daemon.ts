import fs from "node:fs/promises";
import path from "node:path";

import {
  TEST_DAEMON_ROOT,
  startTestDaemon,
  stopTestDaemon,
  testDaemonHandle,
  type StartTestDaemonOptions,
  type TestDaemon,
} from "./lxd-daemon";

export interface DaemonLease {
  daemon: TestDaemon;
  /** Whether this process started the daemon rather than joining a running one. */
  started: boolean;
  /** Gives the lease back. The last lease holder stops the daemon. */
  release(): Promise<void>;
}

const LOCK_TIMEOUT_MS = 10 * 60_000;

/**
 * Starts the named test daemon, or joins it when another live process
 * already has a lease on it, so concurrent test runs in one tree share a
 * daemon instead of shutting down each other's. Each lease is a file named
 * after the holder's pid, and leases of dead processes are ignored.
 *
 * `prepare` runs under the same lock after the daemon is up, for one-time
 * setup such as importing images.
 */
export async function acquireSharedDaemon(
  options: StartTestDaemonOptions,
  prepare: (daemon: TestDaemon) => Promise<void> = async () => {},
): Promise<DaemonLease> {
  const leaseDir = path.join(TEST_DAEMON_ROOT, `${options.name}.leases`);
  const ownLease = path.join(leaseDir, String(process.pid));

  return withLock(options.name, async () => {
    await fs.mkdir(leaseDir, { recursive: true });
    const holders = await liveLeaseHolders(leaseDir);

    let daemon: TestDaemon;
    let started = false;
    if (holders.length > 0) {
      daemon = testDaemonHandle(options);
    } else {
      daemon = await startTestDaemon(options);
      started = true;
    }
    try {
      await prepare(daemon);
    } catch (error) {
      // Without a lease, no later run would stop a daemon started here.
      if (started) await stopTestDaemon(options.name);
      throw error;
    }
    await fs.writeFile(ownLease, "");

    return {
      daemon,
      started,
      release: () =>
        withLock(options.name, async () => {
          await fs.rm(ownLease, { force: true });
          if ((await liveLeaseHolders(leaseDir)).length === 0) {
            await stopTestDaemon(options.name);
            await fs.rm(leaseDir, { recursive: true, force: true });
          }
        }),
    };
  });
}

async function liveLeaseHolders(leaseDir: string): Promise<number[]> {
  const live: number[] = [];
  for (const entry of await fs.readdir(leaseDir)) {
    const pid = Number.parseInt(entry, 10);
    if (Number.isInteger(pid) && isAlive(pid)) {
      live.push(pid);
    } else {
      await fs.rm(path.join(leaseDir, entry), { force: true });
    }
  }
  return live;
}

/**
 * Runs `action` while holding a lock directory for the daemon name. A lock
 * whose holder process is gone is taken over.
 */
async function withLock<T>(name: string, action: () => Promise<T>): Promise<T> {
  const lockDir = path.join(TEST_DAEMON_ROOT, `${name}.lock`);
  const ownerFile = path.join(lockDir, "owner");
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  await fs.mkdir(TEST_DAEMON_ROOT, { recursive: true });

  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }

    const owner = Number.parseInt(
      await fs.readFile(ownerFile, "utf8").catch(() => ""),
      10,
    );
    // An empty owner file belongs to a holder between mkdir and writeFile.
    if (Number.isInteger(owner) && !isAlive(owner)) {
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${LOCK_TIMEOUT_MS / 1000} s waiting for ${lockDir} (held by pid ${owner})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  try {
    return await action();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
