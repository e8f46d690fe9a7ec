import { lxdPath, type LxdClient } from "./client";
import { assertInstanceRef, type LxdInstanceRef } from "./names";
import type { LxdInstance, LxdInstanceType, LxdOperation } from "./types";

/** Websocket secrets of a migration source operation, keyed "control", "fs" and, for live transfers, "criu". */
export type MigrationSecrets = Record<string, string>;

/** Instance fields a target needs to recreate an instance. */
export interface InstanceDefinition {
  architecture: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  profiles: string[];
  ephemeral: boolean;
  description: string;
  type: LxdInstanceType;
}

export interface MigrationSourceOptions {
  /** Transfer the running state too (CRIU for containers). */
  live: boolean;
  /** Leave the snapshots behind. */
  instanceOnly: boolean;
}

/**
 * Starts the source side of a migration with POST /1.0/instances/NAME and
 * `migration: true`. The returned operation's metadata contains the websocket
 * secrets a target pulls with. `live` is always sent, because LXD 5.0
 * migrates a running container live unless the request says otherwise, and that fails
 * only after the whole root file system was sent when CRIU cannot dump it.
 */
export async function startMigrationSource(
  client: LxdClient,
  ref: LxdInstanceRef,
  options: MigrationSourceOptions,
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "POST",
    lxdPath`/1.0/instances/${ref.name}`,
    {
      query: { project: ref.project },
      body: {
        migration: true,
        live: options.live,
        instance_only: options.instanceOnly,
        container_only: options.instanceOnly,
      },
    },
  );
}

/**
 * Starts the source side of a migration of one snapshot with
 * POST /1.0/instances/NAME/snapshots/SNAPSHOT and `migration: true`.
 */
export async function startSnapshotMigrationSource(
  client: LxdClient,
  ref: LxdInstanceRef,
  snapshot: string,
  targetName: string,
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  // LXD 5.0 rejects the request without a name, even though the target
  // names the new instance itself.
  return client.requestOperation(
    "POST",
    lxdPath`/1.0/instances/${ref.name}/snapshots/${snapshot}`,
    {
      query: { project: ref.project },
      body: { migration: true, live: false, name: targetName },
    },
  );
}

/**
 * Moves an instance to another member of the same cluster with
 * POST /1.0/instances/NAME?target=MEMBER. LXD moves the data itself.
 */
export async function moveInstanceToMember(
  client: LxdClient,
  ref: LxdInstanceRef,
  member: string,
  options: { live: boolean },
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "POST",
    lxdPath`/1.0/instances/${ref.name}`,
    {
      query: { project: ref.project, target: member },
      body: { migration: true, live: options.live },
    },
  );
}

export interface PullMigrationRequest {
  project: string;
  name: string;
  definition: InstanceDefinition;
  /** https://ADDRESS:PORT/1.0/operations/ID of the source operation. */
  operationUrl: string;
  /** PEM certificate of the source server, which the target checks. */
  sourceCertificate: string;
  secrets: MigrationSecrets;
  live: boolean;
  instanceOnly: boolean;
  /** Fingerprint of the image the source was made from, so the target can reuse it. */
  baseImage?: string;
}

/**
 * Creates an instance on the target that pulls its data from a source
 * migration operation (POST /1.0/instances, source type "migration", mode
 * "pull"). The target connects to the source itself, authenticated by the
 * secrets and checking the source's certificate.
 */
export async function createInstanceFromMigration(
  client: LxdClient,
  request: PullMigrationRequest,
): Promise<LxdOperation> {
  assertInstanceRef({ project: request.project, name: request.name });
  return client.requestOperation("POST", "/1.0/instances", {
    query: { project: request.project },
    body: {
      name: request.name,
      ...request.definition,
      source: {
        type: "migration",
        mode: "pull",
        operation: request.operationUrl,
        certificate: request.sourceCertificate,
        secrets: request.secrets,
        live: request.live,
        instance_only: request.instanceOnly,
        container_only: request.instanceOnly,
        "base-image": request.baseImage,
      },
    },
  });
}

export interface LocalCopyRequest {
  project: string;
  name: string;
  /** Instance name, or INSTANCE/SNAPSHOT to copy a snapshot. */
  source: string;
  /** The source's definition, without volatile keys. */
  definition: InstanceDefinition;
  instanceOnly: boolean;
}

/**
 * Copies an instance or snapshot on the same server (POST /1.0/instances,
 * source type "copy"). LXD 5.0 does not fill in the profiles from the
 * source, so the request carries the source's definition; leaving out the
 * volatile keys gives the copy its own, such as its MAC addresses.
 */
export async function copyInstanceLocally(
  client: LxdClient,
  request: LocalCopyRequest,
): Promise<LxdOperation> {
  assertInstanceRef({ project: request.project, name: request.name });
  return client.requestOperation("POST", "/1.0/instances", {
    query: { project: request.project },
    body: {
      name: request.name,
      ...request.definition,
      source: {
        type: "copy",
        source: request.source,
        instance_only: request.instanceOnly,
        container_only: request.instanceOnly,
        live: false,
      },
    },
  });
}

/** Returns a snapshot as GET /1.0/instances/NAME/snapshots/SNAPSHOT reports it. */
export async function getSnapshotDefinition(
  client: LxdClient,
  ref: LxdInstanceRef,
  snapshot: string,
): Promise<LxdInstance> {
  assertInstanceRef(ref);
  const result = await client.requestSync<LxdInstance>(
    "GET",
    lxdPath`/1.0/instances/${ref.name}/snapshots/${snapshot}`,
    { query: { project: ref.project } },
  );
  return result.metadata;
}

/**
 * Returns the fields a target needs to recreate `instance`. A move keeps
 * the volatile keys (idmap, MAC addresses), as `lxc move` does. A copy drops
 * them, so the copy gets its own.
 */
export function instanceDefinition(
  instance: Pick<
    LxdInstance,
    | "architecture"
    | "config"
    | "devices"
    | "profiles"
    | "ephemeral"
    | "description"
    | "type"
  >,
  options: { keepVolatile: boolean },
): InstanceDefinition {
  const config = Object.fromEntries(
    Object.entries(instance.config ?? {}).filter(
      ([key]) => options.keepVolatile || !key.startsWith("volatile."),
    ),
  );
  return {
    architecture: instance.architecture,
    config,
    devices: instance.devices ?? {},
    profiles: instance.profiles ?? [],
    ephemeral: instance.ephemeral,
    description: instance.description,
    type: instance.type,
  };
}

/** Returns the migration secrets from a source operation's metadata. */
export function migrationSecrets(operation: LxdOperation): MigrationSecrets {
  const secrets: MigrationSecrets = {};
  for (const [key, value] of Object.entries(operation.metadata ?? {})) {
    if (typeof value === "string") secrets[key] = value;
  }
  return secrets;
}
