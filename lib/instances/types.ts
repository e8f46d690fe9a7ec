/**
 * The console's own view of an LXD instance, converted from LXD's JSON at the
 * client boundary. Every instance is addressed by (host, project, name).
 */
export type InstanceStatus =
  | "Running"
  | "Stopped"
  | "Frozen"
  | "Error"
  | "Starting"
  | "Stopping"
  | "Freezing"
  | "Thawed"
  | "Aborting"
  | "Unknown";

export type InstanceType = "container" | "virtual-machine";

export interface InstanceKey {
  host: string;
  project: string;
  name: string;
}

export interface InstanceSummary extends InstanceKey {
  status: InstanceStatus;
  type: InstanceType;
  description: string;
  /** The image's description (`image.description` in the instance config). */
  imageDescription: string | null;
  /** Value of the image property `sandbox_kind` ("browser", "python"), if any. */
  sandboxKind: string | null;
  /** Cluster member the instance runs on, or null on a standalone server. */
  location: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  snapshotCount: number;
  profiles: string[];
  /** Usage, present while the instance runs. */
  usage: InstanceUsage | null;
}

export interface InstanceUsage {
  /** Total CPU time consumed, in nanoseconds. */
  cpuNs: number;
  memoryBytes: number;
  /** Memory limit seen by the instance, or null when unlimited. */
  memoryLimitBytes: number | null;
  /** Root disk usage in bytes, or null where the storage driver cannot tell. */
  rootDiskBytes: number | null;
  processes: number | null;
}

export type InstanceAction = "start" | "stop" | "restart" | "freeze" | "unfreeze";

export interface SnapshotSummary {
  name: string;
  createdAt: string;
  /** Null when the snapshot never expires. */
  expiresAt: string | null;
  stateful: boolean;
}

/** Everything the instance page shows about one instance. */
export interface InstanceDetail {
  summary: InstanceSummary;
  architecture: string;
  ephemeral: boolean;
  /** The instance's own config keys, without what profiles add. */
  config: Record<string, string>;
  /** Config with profile values applied, as LXD runs the instance. */
  expandedConfig: Record<string, string>;
  /** Devices with profile devices applied. */
  expandedDevices: Record<string, Record<string, string>>;
  snapshots: SnapshotSummary[];
  pid: number | null;
}
