import type { Db } from "@/lib/db/client";
import { getServerInfo } from "@/lib/lxd";
import { listClusterMembers } from "@/lib/lxd/certificates";
import { log } from "@/lib/log";

import { databaseHostFailures, listAddedHosts } from "./database-hosts";
import { getClient, listHosts, type HostDefinition } from "./registry";
import type { Fleet } from "./watcher";

/** A member of the cluster that a host belongs to. */
export interface ClusterMemberRow {
  name: string;
  url: string;
  /** LXD's member status, such as "Online". */
  status: string;
  message: string;
}

/** One host as the hosts page shows it, without any key material. */
export interface HostRow {
  id: string;
  name: string;
  address: string;
  source: "console" | "hosts file";
  state: string;
  error: string | null;
  serverVersion: string | null;
  /** SHA-256 of the pinned server certificate, for hosts added in the console. */
  fingerprint: string | null;
  addedBy: string | null;
  /** Members of the host's cluster, empty for a standalone server. */
  members: ClusterMemberRow[];
}

function address(host: HostDefinition): string {
  switch (host.endpoint.kind) {
    case "local":
      return "local unix socket";
    case "unix":
      return host.endpoint.socketPath;
    case "https":
      return host.endpoint.url;
  }
}

/**
 * Lists every host with its state and cluster members for the hosts page.
 * Hosts added in the console that could not be loaded, such as one whose
 * client key does not decrypt, are listed as unusable with the reason.
 * Only names, addresses and fingerprints are returned, never keys.
 */
export async function listHostRows(db: Db, fleet: Fleet): Promise<HostRow[]> {
  const added = new Map((await listAddedHosts(db)).map((host) => [host.id, host]));
  const statuses = new Map(fleet.hosts().map((status) => [status.id, status]));
  const hosts = listHosts();

  const rows = await Promise.all(
    hosts.map(async (host): Promise<HostRow> => {
      const status = statuses.get(host.id);
      const row = added.get(host.id);
      const online = status?.state === "online";
      return {
        id: host.id,
        name: host.name,
        address: address(host),
        source: host.source === "database" ? "console" : "hosts file",
        state: status?.state ?? "connecting",
        error: status?.error ?? null,
        serverVersion: status?.serverVersion ?? null,
        fingerprint: row?.serverFingerprint ?? null,
        addedBy: row?.addedBy ?? null,
        members: online ? await clusterMembers(host.id) : [],
      };
    }),
  );

  const loaded = new Set(hosts.map((host) => host.id));
  for (const [id, reason] of databaseHostFailures()) {
    const row = added.get(id);
    if (!row || loaded.has(id)) continue;
    rows.push({
      id,
      name: row.name,
      address: row.url,
      source: "console",
      state: "unusable",
      error: reason,
      serverVersion: null,
      fingerprint: row.serverFingerprint,
      addedBy: row.addedBy,
      members: [],
    });
  }
  return rows;
}

async function clusterMembers(hostId: string): Promise<ClusterMemberRow[]> {
  try {
    const client = getClient(hostId);
    const info = await getServerInfo(client);
    if (!info.clustered) return [];
    const members = await listClusterMembers(client);
    return members.map((member) => ({
      name: member.server_name,
      url: member.url,
      status: member.status,
      message: member.message,
    }));
  } catch (error) {
    // The row still shows the host; its state comes from the watcher.
    log.warn({ host: hostId, err: error }, "listing a host's cluster members failed");
    return [];
  }
}
