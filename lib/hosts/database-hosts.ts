import { asc, eq } from "drizzle-orm";

import { getDb, type Db } from "@/lib/db/client";
import { lxdHosts, type LxdHostRow } from "@/lib/db/schema";
import { log } from "@/lib/log";

import { setDatabaseHosts, type HostDefinition } from "./registry";

/** A host added in the console as pages may show it: no client key. */
export interface AddedHost {
  id: string;
  name: string;
  url: string;
  serverFingerprint: string;
  addedBy: string | null;
  createdAt: string;
}

/** Converts a row of lxd_hosts into the registry's host definition. */
export function hostDefinitionFromRow(row: LxdHostRow): HostDefinition {
  return {
    id: row.id,
    name: row.name,
    source: "database",
    endpoint: {
      kind: "https",
      url: row.url,
      clientCert: row.clientCertificate,
      clientKey: row.clientKey,
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

/** Reads lxd_hosts and puts its hosts into the registry. */
export async function reloadDatabaseHosts(db: Db): Promise<void> {
  const rows = await db.select().from(lxdHosts).orderBy(asc(lxdHosts.id));
  setDatabaseHosts(rows.map(hostDefinitionFromRow));
}

/** Deletes a host row and returns whether one existed. */
export async function deleteHostRow(db: Db, id: string): Promise<boolean> {
  const deleted = await db
    .delete(lxdHosts)
    .where(eq(lxdHosts.id, id))
    .returning({ id: lxdHosts.id });
  return deleted.length > 0;
}

const globalLoad = globalThis as typeof globalThis & {
  __sandboxConsoleDatabaseHosts?: Promise<void>;
};

/**
 * Loads the hosts added in the console into the registry once per process.
 * A failed load is logged and tried again on the next call, so a database
 * that is down at start-up leaves only the hosts file's hosts until then.
 */
export function ensureDatabaseHosts(): Promise<void> {
  globalLoad.__sandboxConsoleDatabaseHosts ??= reloadDatabaseHosts(
    getDb(),
  ).catch((error: unknown) => {
    log.warn({ err: error }, "loading the hosts added in the console failed");
    globalLoad.__sandboxConsoleDatabaseHosts = undefined;
  });
  return globalLoad.__sandboxConsoleDatabaseHosts;
}
