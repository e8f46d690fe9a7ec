import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";

import {
  SECRET_KEY_FILE_NAME,
  decryptHostKey,
  encryptHostKey,
  isPlaintextHostKey,
  loadSecretKey,
  type SecretKey,
} from "./host-key-encryption";

const pem = "-----BEGIN PRIVATE KEY-----\nMIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB\n-----END PRIVATE KEY-----\n";

function secret(source = "CONSOLE_SECRET_KEY"): SecretKey {
  return { key: randomBytes(32), source };
}

function failure(run: () => unknown): ConsoleError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConsoleError) return error;
    throw error;
  }
  throw new Error("expected a ConsoleError");
}

describe("host key encryption", () => {
  it("round-trips a key", () => {
    const key = secret();
    const stored = encryptHostKey(pem, "lab", key);

    expect(stored.startsWith("enc:v1:")).toBe(true);
    expect(stored).not.toContain("PRIVATE KEY");
    expect(isPlaintextHostKey(stored)).toBe(false);
    expect(isPlaintextHostKey(pem)).toBe(true);
    expect(decryptHostKey(stored, "lab", key)).toBe(pem);
  });

  it("uses a fresh IV per encryption", () => {
    const key = secret();
    expect(encryptHostKey(pem, "lab", key)).not.toBe(encryptHostKey(pem, "lab", key));
  });

  it("names the host and the fix for a wrong key", () => {
    const stored = encryptHostKey(pem, "lab", secret());
    const error = failure(() => decryptHostKey(stored, "lab", secret()));

    expect(error.message).toContain('host "lab"');
    expect(error.message).toContain("with the key from CONSOLE_SECRET_KEY");
    expect(error.message).toContain("remove the host and add it again");
    expect(error.message).not.toContain(stored);
  });

  it("rejects a value copied to another host", () => {
    const key = secret();
    const stored = encryptHostKey(pem, "lab", key);
    const error = failure(() => decryptHostKey(stored, "other", key));
    expect(error.message).toContain('host "other"');
  });

  it("rejects a damaged value", () => {
    const key = secret();
    const stored = encryptHostKey(pem, "lab", key);
    const last = stored.at(-2) === "A" ? "B" : "A";
    const damaged = `${stored.slice(0, -2)}${last}${stored.at(-1)}`;
    expect(failure(() => decryptHostKey(damaged, "lab", key)).message).toContain("damaged");
  });
});

describe("loadSecretKey", () => {
  let dataDir: string;
  const saved = {
    key: process.env.CONSOLE_SECRET_KEY,
    data: process.env.SANDBOX_CONSOLE_DATA,
  };

  beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "h3-secret-"));
    process.env.SANDBOX_CONSOLE_DATA = dataDir;
    delete process.env.CONSOLE_SECRET_KEY;
  });

  afterEach(async () => {
    if (saved.key === undefined) delete process.env.CONSOLE_SECRET_KEY;
    else process.env.CONSOLE_SECRET_KEY = saved.key;
    if (saved.data === undefined) delete process.env.SANDBOX_CONSOLE_DATA;
    else process.env.SANDBOX_CONSOLE_DATA = saved.data;
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("generates a key file once", async () => {
    const first = loadSecretKey();
    const file = path.join(dataDir, SECRET_KEY_FILE_NAME);
    const stat = await fs.stat(file);

    expect(first.source).toBe(file);
    expect(first.key.length).toBe(32);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(loadSecretKey().key.equals(first.key)).toBe(true);
  });

  it("prefers CONSOLE_SECRET_KEY", () => {
    const key = randomBytes(32);
    process.env.CONSOLE_SECRET_KEY = key.toString("base64");
    const loaded = loadSecretKey();

    expect(loaded.source).toBe("CONSOLE_SECRET_KEY");
    expect(loaded.key.equals(key)).toBe(true);
  });

  it.each([
    ["too short", randomBytes(16).toString("base64")],
    ["not base64", "this is not a key at all, not even close!!"],
  ])("rejects a key that is %s", async (_case, value) => {
    process.env.CONSOLE_SECRET_KEY = value;
    const error = await caught(Promise.resolve().then(() => loadSecretKey()));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as Error).message).toContain("The key in CONSOLE_SECRET_KEY is invalid");
    expect((error as Error).message).toContain("openssl rand -base64 32");
  });
});
