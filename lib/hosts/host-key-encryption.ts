import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
} from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { dataDir } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { log } from "@/lib/log";

// Client private keys of added hosts are stored in lxd_hosts.client_key as
// "enc:v1:" followed by base64 of IV (12 bytes), GCM tag (16 bytes) and the
// AES-256-GCM ciphertext of the PEM text. The host id is the additional
// authenticated data, so a value copied into another host's row fails to
// decrypt instead of lending that host the wrong key.

export const SECRET_KEY_VARIABLE = "CONSOLE_SECRET_KEY";
export const SECRET_KEY_FILE_NAME = "console-secret-key";

const PREFIX = "enc:v1:";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const keyLog = log.child({ component: "host-key-encryption" });

/** The AES-256 key that encrypts host keys, and where it came from for messages. */
export interface SecretKey {
  key: Buffer;
  /** "CONSOLE_SECRET_KEY" or the path of the key file. */
  source: string;
}

/**
 * Returns the key from CONSOLE_SECRET_KEY (base64 of 32 bytes), or else
 * the one in `<dataDir>/console-secret-key`, which is generated on first
 * use with mode 0600. Every console process that shares a database must
 * use the same key.
 */
export function loadSecretKey(): SecretKey {
  const fromEnv = process.env[SECRET_KEY_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== "") {
    return { key: decodeKey(fromEnv, SECRET_KEY_VARIABLE), source: SECRET_KEY_VARIABLE };
  }

  const file = path.join(dataDir(), SECRET_KEY_FILE_NAME);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // "wx" fails if the file exists, so two processes starting together
    // cannot both write a different key.
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString("base64")}\n`, {
      mode: 0o600,
      flag: "wx",
    });
    keyLog.info({ file }, "generated a new key for host keys");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return { key: decodeKey(readFileSync(file, "utf8"), file), source: file };
}

function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  // Buffer.from skips characters that are not base64, so a round trip
  // catches text that only looks like a key.
  if (key.length !== KEY_BYTES || key.toString("base64") !== trimmed) {
    throw new ConsoleError(
      "invalid_input",
      `The key in ${source} is invalid: expected the base64 encoding of ` +
        `${KEY_BYTES} bytes, got ${trimmed.length} characters. Create one with ` +
        "`openssl rand -base64 32`.",
    );
  }
  return key;
}

/** Returns whether a stored client key is still plaintext PEM. */
export function isPlaintextHostKey(stored: string): boolean {
  return !stored.startsWith(PREFIX);
}

/** Encrypts a client key PEM for the lxd_hosts row of `hostId`. */
export function encryptHostKey(
  pem: string,
  hostId: string,
  secret: SecretKey,
): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", secret.key, iv);
  cipher.setAAD(Buffer.from(hostId, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(pem, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return PREFIX + Buffer.concat([iv, tag, ciphertext]).toString("base64");
}

/**
 * Decrypts the stored client key of host `hostId`. Throws ConsoleError
 * naming the host and the fix when the key differs from the one the value
 * was encrypted with, or the value is damaged.
 */
export function decryptHostKey(
  stored: string,
  hostId: string,
  secret: SecretKey,
): string {
  if (isPlaintextHostKey(stored)) {
    throw new ConsoleError(
      "internal",
      `The client key of host "${hostId}" is stored unencrypted. Restart the ` +
        "console, which encrypts such keys when it starts.",
    );
  }

  const packed = Buffer.from(stored.slice(PREFIX.length), "base64");
  const iv = packed.subarray(0, IV_BYTES);
  const tag = packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const ciphertext = packed.subarray(IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", secret.key, iv);
    decipher.setAAD(Buffer.from(hostId, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
  } catch {
    // The cause is left out, because it only reports that authentication failed.
    throw new ConsoleError(
      "internal",
      `Cannot decrypt the client key of host "${hostId}" with the key from ` +
        `${secret.source}: it is not the key the host was added with, or the ` +
        `stored value is damaged. Set ${SECRET_KEY_VARIABLE} (or restore ` +
        `${path.join(dataDir(), SECRET_KEY_FILE_NAME)}) to the key in use when ` +
        "the host was added, or remove the host and add it again.",
    );
  }
}
