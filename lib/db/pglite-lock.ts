import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

import { ConsoleError } from "@/lib/errors";

// PGlite runs Postgres inside the process and has no lock of its own, so two
// processes that open one data folder each write to it as if alone. Rows one
// of them commits are lost when the other writes its files over them. A pid
// file next to the folder lets only one process open it at a time.

// On globalThis, because Next.js may load this module more than once in one
// process and every copy must see the same locks.
const globalForLocks = globalThis as typeof globalThis & {
  sandboxConsolePgliteLocks?: Set<string>;
};

function heldLocks(): Set<string> {
  if (!globalForLocks.sandboxConsolePgliteLocks) {
    const locks = new Set<string>();
    globalForLocks.sandboxConsolePgliteLocks = locks;
    // A process that exits without closing its database still frees the
    // lock. A killed process leaves the file, and the next open finds its
    // pid dead.
    process.once("exit", () => {
      for (const path of locks) removeIfOwned(path);
    });
  }
  return globalForLocks.sandboxConsolePgliteLocks;
}

/** Returns the pid file that guards the PGlite data folder `dir`. */
export function pgliteLockPath(dir: string): string {
  return `${dir}.lock`;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, "wx", 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Takes the lock on the PGlite data folder `dir` and returns its release
 * function. A lock left by a process that has exited is taken over. Throws
 * a ConsoleError (conflict) while another process, or another open in this
 * process, holds it.
 */
export function acquirePgliteLock(dir: string): () => void {
  const path = pgliteLockPath(dir);
  const locks = heldLocks();
  if (locks.has(path)) {
    throw new ConsoleError(
      "conflict",
      `The embedded database in ${dir} is already open in this process, and a second ` +
        `PGlite instance on the same folder would overwrite the first one's rows. ` +
        `Close the first one, or share it through getDb.`,
    );
  }

  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (tryCreate(path)) {
      locks.add(path);
      return releaser(path);
    }
    const owner = readOwner(path);
    if (owner !== null && owner !== process.pid && processIsAlive(owner)) {
      throw new ConsoleError(
        "conflict",
        `The embedded database in ${dir} is open in process ${owner}, and PGlite allows one ` +
          `process at a time. Stop that process (usually the running console) and try again, ` +
          `use the console's own page for this task, or set DATABASE_URL to a Postgres server ` +
          `that many processes can share.`,
      );
    }
    // The owner has exited, or its pid file is empty or unreadable.
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new ConsoleError(
    "conflict",
    `Could not take the lock ${path} on the embedded database: other processes keep ` +
      `creating it. Stop the other consoles and scripts using ${dir} and try again.`,
  );
}

function releaser(path: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldLocks().delete(path);
    removeIfOwned(path);
  };
}

function removeIfOwned(path: string): void {
  if (readOwner(path) !== process.pid) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
