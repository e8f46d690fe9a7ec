import { ConsoleError } from "@/lib/errors";

import type { LxdClient } from "./client";
import type { LxdServer } from "./types";

/**
 * Capabilities the console relies on, derived once per server from
 * `api_extensions` in GET /1.0. LXD and Incus share these extension names.
 */
export interface LxdFeatures {
  /** GET /1.0/instances?all-projects=true (instance_all_projects). */
  instancesAllProjects: boolean;
  /** GET /1.0/instances/NAME?recursion=1 includes state and snapshots (instance_get_full). */
  instanceFullGet: boolean;
  /** PUT /1.0/instances changes the state of many instances (instance_bulk_state_change). */
  instanceBulkState: boolean;
  /**
   * GET /1.0/operations/ID/wait?timeout=N. Every API 1.0 server has it;
   * the operation_wait extension of later LXD releases only announces it.
   */
  operationWait: boolean;
  /** The `live` flag of POST /1.0/instances/NAME, for stateless moves (container_stateless_copy). */
  migrationStateless: boolean;
  /** The migration.stateful instance option (migration_stateful). */
  migrationStateful: boolean;
  /** Events carry their project (event_project). */
  eventProject: boolean;
  /** Lifecycle requestors carry the client address (event_lifecycle_requestor_address). */
  eventRequestorAddress: boolean;
  /** Lifecycle events carry `name` and `project` (event_lifecycle_name_and_project). */
  eventLifecycleNameAndProject: boolean;
  /** Cluster support (clustering). `clustered` is true when the server is a member. */
  clustering: boolean;
  /** ETag and If-Match on resources (etag). */
  etag: boolean;
  /** Projects exist (projects). */
  projects: boolean;
}

export interface LxdServerInfo {
  /** Server software: "lxd" or "incus". */
  server: string;
  serverVersion: string;
  apiVersion: string;
  /** Host name of the server, or its member name in a cluster. */
  serverName: string;
  clustered: boolean;
  /** Whether the server trusts the console's certificate (always on the unix socket). */
  trusted: boolean;
  apiExtensions: string[];
  /** PEM certificate of the server. */
  certificate: string;
  certificateFingerprint: string;
  features: LxdFeatures;
}

const serverInfoCache = new WeakMap<LxdClient, Promise<LxdServerInfo>>();

/**
 * Reads GET /1.0 once per client and returns the server's identity and
 * features. A failed read is not cached, so the next call tries again.
 */
export function getServerInfo(client: LxdClient): Promise<LxdServerInfo> {
  const cached = serverInfoCache.get(client);
  if (cached) return cached;

  const pending = client
    .requestSync<LxdServer>("GET", "/1.0")
    .then(({ metadata }) => toServerInfo(metadata, client.description));
  serverInfoCache.set(client, pending);
  pending.catch(() => serverInfoCache.delete(client));
  return pending;
}

/** Converts the GET /1.0 response into the console's view of the server. */
export function toServerInfo(server: LxdServer, where: string): LxdServerInfo {
  const environment = server.environment;
  if (server.auth !== "trusted" || environment === undefined) {
    throw new ConsoleError(
      "host_unreachable",
      `${where} does not trust the console's client certificate. ` +
        "Add the certificate to the server's trust store, for example with a trust token.",
    );
  }

  return {
    server: environment.server,
    serverVersion: environment.server_version,
    apiVersion: server.api_version,
    serverName: environment.server_name,
    clustered: environment.server_clustered,
    trusted: true,
    apiExtensions: server.api_extensions,
    certificate: environment.certificate,
    certificateFingerprint: environment.certificate_fingerprint,
    features: deriveFeatures(server.api_extensions, server.api_version),
  };
}

/** Derives the feature flags from a server's API extensions. */
export function deriveFeatures(
  apiExtensions: readonly string[],
  apiVersion: string,
): LxdFeatures {
  const has = new Set(apiExtensions);

  return {
    instancesAllProjects: has.has("instance_all_projects"),
    instanceFullGet: has.has("instance_get_full"),
    instanceBulkState: has.has("instance_bulk_state_change"),
    operationWait: has.has("operation_wait") || apiVersion === "1.0",
    migrationStateless: has.has("container_stateless_copy"),
    migrationStateful: has.has("migration_stateful"),
    eventProject: has.has("event_project"),
    eventRequestorAddress: has.has("event_lifecycle_requestor_address"),
    eventLifecycleNameAndProject: has.has("event_lifecycle_name_and_project"),
    clustering: has.has("clustering"),
    etag: has.has("etag"),
    projects: has.has("projects"),
  };
}
