import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { closeDb, createDb } from "./client";
import { pgliteLockPath } from "./pglite-lock";

const root = path.resolve(import.meta.dirname, "../..");

/** Starts another process that opens `dir` and resolves once it has. */
function holdInChild(dir: string): Promise<ChildProcess> {
  // Node itself with tsx's loader, so the child's pid is the lock owner's.
  const child = spawn(process.execPath, ["--import", "tsx", "test/harness/hold-pglite.ts", dir], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("ready")) resolve(child);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => reject(new Error(`holder exited with ${code}: ${output}`)));
  });
}

function openError(dir: string): unknown {
  try {
    createDb(undefined, { pgliteDir: dir });
  } catch (error) {
    return error;
  }
  throw new Error(`createDb opened ${dir} although it is locked`);
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

describe("PGlite folder lock", () => {
  let folder: string | null = null;
  let holder: ChildProcess | null = null;

  afterEach(async () => {
    if (holder) {
      holder.kill("SIGKILL");
      await exited(holder);
      holder = null;
    }
    if (folder) await rm(folder, { recursive: true, force: true });
    folder = null;
  });

  async function newFolder(): Promise<string> {
    folder = await mkdtemp(path.join(os.tmpdir(), "pglite-lock-"));
    return path.join(folder, "pglite");
  }

  it("rejects a second process and names it", { timeout: 60_000 }, async () => {
    const dir = await newFolder();
    holder = await holdInChild(dir);

    const error = openError(dir);
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("conflict");
    expect((error as Error).message).toContain(`is open in process ${holder.pid}`);
    expect((error as Error).message).toContain("DATABASE_URL");
  });

  it("takes over the lock of a killed process", { timeout: 60_000 }, async () => {
    const dir = await newFolder();
    holder = await holdInChild(dir);
    holder.kill("SIGKILL");
    await exited(holder);
    holder = null;
    expect(existsSync(pgliteLockPath(dir))).toBe(true);

    const db = createDb(undefined, { pgliteDir: dir });
    await closeDb(db);
    expect(existsSync(pgliteLockPath(dir))).toBe(false);
  });

  it("rejects a second open in one process", { timeout: 60_000 }, async () => {
    const dir = await newFolder();
    const first = createDb(undefined, { pgliteDir: dir });
    try {
      const error = openError(dir);
      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as Error).message).toContain("already open in this process");
    } finally {
      await closeDb(first);
    }
    expect(existsSync(pgliteLockPath(dir))).toBe(false);

    const reopened = createDb(undefined, { pgliteDir: dir });
    await closeDb(reopened);
  });
});
