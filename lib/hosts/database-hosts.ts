import { and, asc, eq } from "drizzle-orm";

import { getDb, type Db } from "@/lib/db/client";
import { lxdHosts, type LxdHostRow } from "@/lib/db/schema";
import { log } from "@/lib/log";

import {
  decryptHostKey,
  encryptHostKey,
  isPlaintextHostKey,
  loadSecretKey,
  type SecretKey,
} from "./host-key-encryption";
import { setDatabaseHosts, type HostDefinition } from "./registry";

const hostsLog = log.child({ component: "database-hosts" });

/** A host added in the console as pages may show it: no client key. */
export interface AddedHost {
  id: string;
  name: string;
  url: string;
  serverFingerprint: string;
  addedBy: string | null;
  createdAt: string;
}

/**
 * Converts a row of lxd_hosts into the registry's host definition,
 * decrypting its client key with `secret`.
 */
export function hostDefinitionFromRow(
  row: LxdHostRow,
  secret: SecretKey,
): HostDefinition {
  return {
    id: row.id,
    name: row.name,
    source: "database",
    endpoint: {
      kind: "https",
      url: row.url,
      clientCert: row.clientCertificate,
      clientKey: decryptHostKey(row.clientKey, row.id, secret),
      serverCert: row.serverCertificate,
    },
  };
}

/** Lists the hosts added in the console, without their client keys. */
export async function listAddedHosts(db: Db): Promise<AddedHost[]> {
  const rows = await db
    .select({
      id: lxdHosts.id,
      name: lxdHosts.name,
      url: lxdHosts.url,
      serverFingerprint: lxdHosts.serverFingerprint,
      addedBy: lxdHosts.addedBy,
      createdAt: lxdHosts.createdAt,
    })
    .from(lxdHosts)
    .orderBy(asc(lxdHosts.id));
  return rows.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() }));
}

const globalFailures = globalThis as typeof globalThis & {
  __sandboxConsoleHostLoadFailures?: Map<string, string>;
};

/**
 * Returns the hosts of lxd_hosts that the last load left out, with the
 * reason, such as a client key that the current secret key cannot decrypt.
 */
export function databaseHostFailures(): Map<string, string> {
  return globalFailures.__sandboxConsoleHostLoadFailures ?? new Map<string, string>();
}

/**
 * Reads lxd_hosts and puts its hosts into the registry. A host whose client
 * key cannot be decrypted is left out and logged, and databaseHostFailures()
 * returns it with the reason, so the other hosts keep working.
 */
export async function reloadDatabaseHosts(
  db: Db,
  secret?: SecretKey,
): Promise<void> {
  const rows = await db.select().from(lxdHosts).orderBy(asc(lxdHosts.id));
  const hosts: HostDefinition[] = [];
  const failures = new Map<string, string>();

  // Without added hosts no key is needed, so none is generated.
  const key = rows.length > 0 ? (secret ?? loadSecretKey()) : null;
  for (const row of rows) {
    if (key === null) break;
    try {
      hosts.push(hostDefinitionFromRow(row, key));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failures.set(row.id, reason);
      hostsLog.error({ host: row.id, reason }, "loading a host added in the console failed");
    }
  }
  globalFailures.__sandboxConsoleHostLoadFailures = failures;
  setDatabaseHosts(hosts);
}

/**
 * Encrypts the client keys that lxd_hosts still stores as plaintext PEM,
 * as rows written before keys were encrypted do. Returns the ids of the
 * hosts it changed. The update matches the old value, so a row that
 * another process changed meanwhile is left for that process.
 */
export async function encryptPlaintextHostKeys(
  db: Db,
  secret?: SecretKey,
): Promise<string[]> {
  const rows = await db
    .select({ id: lxdHosts.id, clientKey: lxdHosts.clientKey })
    .from(lxdHosts);
  const plaintext = rows.filter((row) => isPlaintextHostKey(row.clientKey));
  if (plaintext.length === 0) return [];

  const key = secret ?? loadSecretKey();
  const changed: string[] = [];
  for (const row of plaintext) {
    const updated = await db
      .update(lxdHosts)
      .set({ clientKey: encryptHostKey(row.clientKey, row.id, key) })
      .where(and(eq(lxdHosts.id, row.id), eq(lxdHosts.clientKey, row.clientKey)))
      .returning({ id: lxdHosts.id });
    if (updated.length > 0) changed.push(row.id);
  }
  if (changed.length > 0) {
    hostsLog.info({ hosts: changed }, "encrypted the stored client keys of hosts");
  }
  return changed;
}

/** Deletes a host row and returns whether one existed. */
export async function deleteHostRow(db: Db, id: string): Promise<boolean> {
  const deleted = await db
    .delete(lxdHosts)
    .where(eq(lxdHosts.id, id))
    .returning({ id: lxdHosts.id });
  return deleted.length > 0;
}

/**
 * Encrypts any plaintext client keys in lxd_hosts, then loads the table's
 * hosts into the registry.
 */
export async function loadDatabaseHosts(db: Db): Promise<void> {
  await encryptPlaintextHostKeys(db);
  await reloadDatabaseHosts(db);
}

const globalLoad = globalThis as typeof globalThis & {
  __sandboxConsoleDatabaseHosts?: Promise<void>;
};

/**
 * Loads the hosts added in the console into the registry once per process.
 * A failed load is logged and tried again on the next call, so a database
 * that is down at start-up leaves only the hosts file's hosts until then.
 * The promise rejects with the failure, so callers can retry.
 */
export function ensureDatabaseHosts(): Promise<void> {
  const current = globalLoad.__sandboxConsoleDatabaseHosts;
  if (current) return current;

  const load = loadDatabaseHosts(getDb()).catch((error: unknown) => {
    hostsLog.warn({ err: error }, "loading the hosts added in the console failed");
    globalLoad.__sandboxConsoleDatabaseHosts = undefined;
    throw error;
  });
  globalLoad.__sandboxConsoleDatabaseHosts = load;
  return load;
}
