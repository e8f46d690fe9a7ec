/**
 * Wire types that mirror LXD's REST API JSON (API version 1.0, checked
 * against LXD 5.0.2). Fields added by later API extensions are optional.
 * These types stop at the client boundary: the rest of the console uses the
 * types in lib/instances/types.ts.
 */

/** Numeric status codes LXD uses for instances and operations. */
export const LxdStatusCode = {
  OperationCreated: 100,
  Started: 101,
  Stopped: 102,
  Running: 103,
  Cancelling: 104,
  Pending: 105,
  Starting: 106,
  Stopping: 107,
  Aborting: 108,
  Freezing: 109,
  Frozen: 110,
  Thawed: 111,
  Error: 112,
  Ready: 113,
  Success: 200,
  Failure: 400,
  Cancelled: 401,
} as const;

export interface LxdSyncResponse<T> {
  type: "sync";
  status: string;
  status_code: number;
  operation: string;
  error_code: number;
  error: string;
  metadata: T;
}

export interface LxdAsyncResponse {
  type: "async";
  status: string;
  status_code: number;
  /** URL of the operation, such as /1.0/operations/UUID. */
  operation: string;
  error_code: number;
  error: string;
  metadata: LxdOperation;
}

export interface LxdErrorResponse {
  type: "error";
  status: string;
  status_code: number;
  operation: string;
  /** HTTP status code of the error, such as 404. */
  error_code: number;
  error: string;
  metadata: unknown;
}

export type LxdResponse<T> =
  LxdSyncResponse<T> | LxdAsyncResponse | LxdErrorResponse;

/** Response of GET /1.0. */
export interface LxdServer {
  api_extensions: string[];
  api_status: string;
  api_version: string;
  auth: "trusted" | "untrusted";
  auth_methods?: string[];
  config?: Record<string, string>;
  public: boolean;
  environment?: LxdServerEnvironment;
}

/** The `environment` block of GET /1.0, present for trusted clients. */
export interface LxdServerEnvironment {
  addresses: string[];
  architectures: string[];
  /** PEM certificate of the server. */
  certificate: string;
  certificate_fingerprint: string;
  driver: string;
  driver_version: string;
  firewall?: string;
  kernel: string;
  kernel_architecture: string;
  kernel_features?: Record<string, string>;
  kernel_version: string;
  lxc_features?: Record<string, string>;
  os_name?: string;
  os_version?: string;
  project: string;
  /** "lxd" on LXD, "incus" on Incus. */
  server: string;
  server_clustered: boolean;
  server_event_mode?: string;
  server_name: string;
  server_pid: number;
  server_version: string;
  storage: string;
  storage_version: string;
  storage_supported_drivers?: LxdStorageDriverInfo[];
}

export interface LxdStorageDriverInfo {
  Name: string;
  Version: string;
  Remote: boolean;
}

export type LxdInstanceType = "container" | "virtual-machine";

export type LxdDevice = Record<string, string>;

/**
 * An instance as returned by GET /1.0/instances/NAME. The state, snapshots
 * and backups are only present when fetched with recursion.
 */
export interface LxdInstance {
  name: string;
  description: string;
  status: string;
  status_code: number;
  type: LxdInstanceType;
  architecture: string;
  /** Local configuration, including the image.* keys copied from the image. */
  config: Record<string, string>;
  devices: Record<string, LxdDevice>;
  ephemeral: boolean;
  profiles: string[];
  stateful: boolean;
  created_at: string;
  /** "1970-01-01T00:00:00Z" or "0001-01-01T00:00:00Z" when never started. */
  last_used_at: string;
  /** Cluster member, or "none" on a standalone server. */
  location: string;
  /** Missing before the instance_all_projects API extension. */
  project?: string;
  /** Configuration with the profiles applied. */
  expanded_config: Record<string, string>;
  expanded_devices: Record<string, LxdDevice>;
  state?: LxdInstanceState | null;
  /** LXD sends null for an instance without snapshots. */
  snapshots?: LxdSnapshot[] | null;
  backups?: unknown[] | null;
}

/**
 * An instance with its state and snapshots, as returned by
 * GET /1.0/instances?recursion=2 and GET /1.0/instances/NAME?recursion=1.
 */
export interface LxdInstanceFull extends LxdInstance {
  state: LxdInstanceState | null;
  snapshots: LxdSnapshot[] | null;
  backups: unknown[] | null;
}

export interface LxdInstanceState {
  status: string;
  status_code: number;
  /** Disk usage per disk device, empty where the storage driver cannot tell. */
  disk: Record<string, LxdDiskState> | null;
  memory: LxdMemoryState;
  network: Record<string, LxdNetworkState> | null;
  pid: number;
  /** Number of processes, or -1 where LXD cannot count them. */
  processes: number;
  cpu: LxdCpuState;
}

export interface LxdDiskState {
  /** Bytes used. */
  usage: number;
  /** Bytes available, from the instances_state_total API extension. */
  total?: number;
}

export interface LxdMemoryState {
  usage: number;
  usage_peak: number;
  swap_usage: number;
  swap_usage_peak: number;
  /** Memory limit in bytes, from the instances_state_total API extension. */
  total?: number;
}

export interface LxdCpuState {
  /** CPU time consumed, in nanoseconds. */
  usage: number;
}

export interface LxdNetworkState {
  addresses: LxdNetworkAddress[];
  counters: Record<string, number>;
  hwaddr: string;
  host_name: string;
  mtu: number;
  state: string;
  type: string;
}

export interface LxdNetworkAddress {
  family: string;
  address: string;
  netmask: string;
  scope: string;
}

export interface LxdSnapshot {
  /** Snapshot name without the instance name. */
  name: string;
  description?: string;
  architecture: string;
  config: Record<string, string>;
  devices: Record<string, LxdDevice>;
  ephemeral: boolean;
  expanded_config: Record<string, string>;
  expanded_devices: Record<string, LxdDevice>;
  profiles: string[];
  stateful: boolean;
  created_at: string;
  last_used_at: string;
  /** "0001-01-01T00:00:00Z" when the snapshot never expires. */
  expires_at: string;
  /** Size in bytes, or -1 where the storage driver cannot tell. */
  size: number;
}

export type LxdOperationClass = "task" | "websocket" | "token";

export interface LxdOperation {
  id: string;
  class: LxdOperationClass;
  description: string;
  created_at: string;
  updated_at: string;
  status: string;
  status_code: number;
  /** URLs of the affected resources, keyed by resource type. */
  resources: Record<string, string[]> | null;
  metadata: Record<string, unknown> | null;
  may_cancel: boolean;
  /** Error text of a failed operation, empty otherwise. */
  err: string;
  location: string;
}

/** Metadata of an exec operation started with wait-for-websocket. */
export interface LxdExecMetadata {
  command: string[];
  environment: Record<string, string>;
  interactive: boolean;
  /** Websocket secrets keyed by "0", "1", "2" and "control". */
  fds: Record<string, string>;
}

export type LxdEventType = "lifecycle" | "operation" | "logging";

interface LxdEventBase {
  timestamp: string;
  /** Cluster member that sent the event, or "none" on a standalone server. */
  location?: string;
  /** Project of the event, from the event_project API extension. */
  project?: string;
}

export interface LxdLifecycleEvent extends LxdEventBase {
  type: "lifecycle";
  metadata: LxdLifecycleMetadata;
}

export interface LxdOperationEvent extends LxdEventBase {
  type: "operation";
  metadata: LxdOperation;
}

export interface LxdLoggingEvent extends LxdEventBase {
  type: "logging";
  metadata: { message: string; level: string; context: Record<string, string> };
}

export type LxdEvent = LxdLifecycleEvent | LxdOperationEvent | LxdLoggingEvent;

export interface LxdLifecycleMetadata {
  /** Action name, such as "instance-started" or "instance-deleted". */
  action: string;
  /** URL of the affected resource, such as /1.0/instances/NAME. */
  source: string;
  context?: Record<string, unknown>;
  /** Client that caused the action, missing for actions LXD takes on its own. */
  requestor?: LxdEventRequestor;
  /** From the event_lifecycle_name_and_project API extension. */
  name?: string;
  /** From the event_lifecycle_name_and_project API extension. */
  project?: string;
}

export interface LxdEventRequestor {
  /** Unix user name, or the certificate fingerprint over HTTPS. */
  username: string;
  /** "unix", "tls", "candid", "rbac" or "oidc". */
  protocol: string;
  /** Client address, from the event_lifecycle_requestor_address extension. */
  address?: string;
}

/** Body of PUT /1.0/instances/NAME/state. */
export interface LxdInstanceStatePut {
  action: "start" | "stop" | "restart" | "freeze" | "unfreeze";
  /** Seconds to wait for a clean stop before failing, or -1 to wait forever. */
  timeout?: number;
  force?: boolean;
  stateful?: boolean;
}

/** Body of POST /1.0/instances/NAME/exec. */
export interface LxdExecPost {
  command: string[];
  environment?: Record<string, string>;
  interactive: boolean;
  "wait-for-websocket": boolean;
  "record-output"?: boolean;
  user?: number;
  group?: number;
  cwd?: string;
  width?: number;
  height?: number;
}
