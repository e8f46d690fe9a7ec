import type {
  InstanceAction,
  InstanceStatus,
  InstanceSummary,
  InstanceUsage,
} from "@/lib/instances/types";

import { lxdPath, type LxdClient } from "./client";
import {
  assertInstanceRef,
  assertProjectName,
  type LxdInstanceRef,
} from "./names";
import { getServerInfo } from "./server";
import {
  LxdStatusCode,
  type LxdInstance,
  type LxdInstanceFull,
  type LxdInstanceState,
  type LxdOperation,
  type LxdSnapshot,
} from "./types";

export interface ListInstancesOptions {
  /** Project to list, "default" unless this or allProjects is set. */
  project?: string;
  /** List the instances of every project. */
  allProjects?: boolean;
}

/**
 * Lists instances with their state and snapshots (recursion=2). With
 * `allProjects`, servers without the instance_all_projects extension are
 * asked once per project instead.
 */
export async function listInstances(
  client: LxdClient,
  options: ListInstancesOptions = {},
): Promise<LxdInstanceFull[]> {
  if (!options.allProjects) {
    return listProjectInstances(client, options.project ?? "default");
  }

  const { features } = await getServerInfo(client);
  if (features.instancesAllProjects) {
    const result = await client.requestSync<LxdInstanceFull[]>(
      "GET",
      "/1.0/instances",
      { query: { recursion: 2, "all-projects": true } },
    );
    return result.metadata;
  }

  const projects = features.projects
    ? await listProjectNames(client)
    : ["default"];
  const perProject = await Promise.all(
    projects.map((project) => listProjectInstances(client, project)),
  );
  return perProject.flat();
}

export interface InstanceWithEtag {
  instance: LxdInstanceFull;
  /** ETag of the instance, to send back as If-Match when updating it. */
  etag: string | null;
}

/** Returns one instance with its state and snapshots, and its ETag. */
export async function getInstance(
  client: LxdClient,
  ref: LxdInstanceRef,
): Promise<InstanceWithEtag> {
  assertInstanceRef(ref);
  const path = lxdPath`/1.0/instances/${ref.name}`;
  const { features } = await getServerInfo(client);

  if (features.instanceFullGet) {
    const result = await client.requestSync<LxdInstanceFull>("GET", path, {
      query: { project: ref.project, recursion: 1 },
    });
    return { instance: result.metadata, etag: result.etag };
  }

  const [base, state, snapshots] = await Promise.all([
    client.requestSync<LxdInstance>("GET", path, {
      query: { project: ref.project },
    }),
    getInstanceState(client, ref),
    client.requestSync<LxdSnapshot[] | null>("GET", `${path}/snapshots`, {
      query: { project: ref.project, recursion: 1 },
    }),
  ]);
  return {
    instance: {
      ...base.metadata,
      state,
      snapshots: snapshots.metadata,
      backups: null,
    },
    etag: base.etag,
  };
}

/** Returns the runtime state (status, CPU, memory, disk, processes). */
export async function getInstanceState(
  client: LxdClient,
  ref: LxdInstanceRef,
): Promise<LxdInstanceState> {
  assertInstanceRef(ref);
  const result = await client.requestSync<LxdInstanceState>(
    "GET",
    lxdPath`/1.0/instances/${ref.name}/state`,
    { query: { project: ref.project } },
  );
  return result.metadata;
}

export interface ChangeInstanceStateOptions {
  /** Kill instead of a clean stop (stop, restart). */
  force?: boolean;
  /**
   * Seconds LXD waits for a clean stop before failing, or -1 to wait
   * forever. Defaults to 30.
   */
  timeout?: number;
  stateful?: boolean;
}

/**
 * Starts, stops, restarts, freezes or unfreezes an instance with
 * PUT /1.0/instances/NAME/state and returns LXD's operation, which the
 * caller waits for or follows through events.
 */
export async function changeInstanceState(
  client: LxdClient,
  ref: LxdInstanceRef,
  action: InstanceAction,
  options: ChangeInstanceStateOptions = {},
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "PUT",
    lxdPath`/1.0/instances/${ref.name}/state`,
    {
      query: { project: ref.project },
      body: {
        action,
        force: options.force ?? false,
        timeout: options.timeout ?? 30,
        stateful: options.stateful ?? false,
      },
    },
  );
}

/** Instance fields that `updateInstance` changes. Other fields stay as they are. */
export interface InstancePatch {
  description?: string;
  config?: Record<string, string>;
  profiles?: string[];
}

/**
 * Changes an instance with PATCH /1.0/instances/NAME. With an ETag from
 * getInstance, LXD rejects the change with 412 if the instance changed in
 * between. Returns the operation when LXD runs the change in the background.
 */
export async function updateInstance(
  client: LxdClient,
  ref: LxdInstanceRef,
  patch: InstancePatch,
  options: { etag?: string | null } = {},
): Promise<LxdOperation | null> {
  assertInstanceRef(ref);
  const result = await client.request<unknown>(
    "PATCH",
    lxdPath`/1.0/instances/${ref.name}`,
    { query: { project: ref.project }, body: patch, etag: options.etag },
  );
  return result.type === "async" ? result.operation : null;
}

/**
 * Converts LXD's instance into the console's InstanceSummary. The image
 * description and sandbox kind come from the image.* keys LXD copies from
 * the image's properties into the instance config. Pass an instance fetched
 * with its state and snapshots (listInstances, getInstance): without them
 * usage is null and the snapshot count 0.
 */
export function toInstanceSummary(
  hostId: string,
  instance: LxdInstance,
): InstanceSummary {
  const status = toInstanceStatus(instance.status);

  return {
    host: hostId,
    project: instance.project ?? "default",
    name: instance.name,
    status,
    type: instance.type,
    description: instance.description,
    imageDescription: instance.config["image.description"] ?? null,
    sandboxKind: instance.config["image.sandbox_kind"] ?? null,
    location:
      instance.location === "" || instance.location === "none"
        ? null
        : instance.location,
    createdAt: instance.created_at,
    lastUsedAt: neverToNull(instance.last_used_at),
    snapshotCount: instance.snapshots?.length ?? 0,
    profiles: instance.profiles,
    usage: toInstanceUsage(instance),
  };
}

const knownStatuses = new Set<string>([
  "Running",
  "Stopped",
  "Frozen",
  "Error",
  "Starting",
  "Stopping",
  "Freezing",
  "Thawed",
  "Aborting",
  "Unknown",
]);

function toInstanceStatus(status: string): InstanceStatus {
  // "Ready" (instance_ready_state, LXD 5.x) is a running instance that
  // reported itself ready through /dev/lxd.
  if (status === "Ready") return "Running";
  return knownStatuses.has(status) ? (status as InstanceStatus) : "Unknown";
}

function toInstanceUsage(instance: LxdInstance): InstanceUsage | null {
  const state = instance.state;
  if (state === null || state === undefined) return null;

  const active =
    state.status_code === LxdStatusCode.Running ||
    state.status_code === LxdStatusCode.Frozen ||
    state.status_code === LxdStatusCode.Ready;
  if (!active) return null;

  return {
    cpuNs: state.cpu.usage,
    memoryBytes: state.memory.usage,
    memoryLimitBytes: parseByteSize(instance.expanded_config["limits.memory"]),
    rootDiskBytes: state.disk?.root?.usage ?? null,
    processes: state.processes >= 0 ? state.processes : null,
  };
}

const byteUnits: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  EB: 1e18,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  EiB: 2 ** 60,
};

/**
 * Parses an LXD size such as "512MiB", "1GB" or "1073741824" into bytes.
 * Returns null for an unset limit and for a percentage of host memory, which
 * cannot be converted without the host's total.
 */
export function parseByteSize(value: string | undefined): number | null {
  if (value === undefined) return null;

  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!match) return null;

  const amount = Number(match[1]);
  const unit = match[2] === "" ? "B" : match[2];
  const multiplier = unit === undefined ? undefined : byteUnits[unit];
  if (multiplier === undefined) return null;
  return Math.round(amount * multiplier);
}

function neverToNull(timestamp: string): string | null {
  // LXD reports "never" as the Unix epoch (LXD 5.0) or Go's zero time.
  if (
    timestamp.startsWith("1970-01-01") ||
    timestamp.startsWith("0001-01-01")
  ) {
    return null;
  }
  return timestamp;
}

async function listProjectInstances(
  client: LxdClient,
  project: string,
): Promise<LxdInstanceFull[]> {
  assertProjectName(project);
  const result = await client.requestSync<LxdInstanceFull[]>(
    "GET",
    "/1.0/instances",
    { query: { recursion: 2, project } },
  );
  // Servers before instance_all_projects leave out the project field.
  return result.metadata.map((instance) => ({
    ...instance,
    project: instance.project ?? project,
  }));
}

async function listProjectNames(client: LxdClient): Promise<string[]> {
  const result = await client.requestSync<string[]>("GET", "/1.0/projects");
  // Without recursion LXD returns URLs such as /1.0/projects/default.
  return result.metadata.map((url) =>
    decodeURIComponent(url.slice(url.lastIndexOf("/") + 1)),
  );
}
