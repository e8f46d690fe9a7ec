/**
 * Typed LXD client: one request function over the unix socket or HTTPS with
 * a pinned server certificate, one module per resource on top, and the
 * conversion of LXD's JSON into the console's own types.
 */
export {
  LxdClient,
  lxdPath,
  parseLxdResponse,
  type LxdClientOptions,
  type LxdMethod,
  type LxdQuery,
  type LxdRequestOptions,
  type LxdResult,
  type LxdSyncResult,
  type LxdAsyncResult,
} from "./client";
export { LxdError, toConsoleError } from "./errors";
export {
  LxdEventStream,
  openEventStream,
  parseLxdEvent,
  type OpenEventStreamOptions,
} from "./events";
export {
  execCommand,
  startExec,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
} from "./exec";
export {
  changeInstanceState,
  getInstance,
  getInstanceState,
  listInstances,
  parseByteSize,
  toInstanceSummary,
  updateInstance,
  type ChangeInstanceStateOptions,
  type InstancePatch,
  type InstanceWithEtag,
  type ListInstancesOptions,
} from "./instances";
export {
  assertInstanceRef,
  assertProjectName,
  instanceNameSchema,
  projectNameSchema,
  type LxdInstanceRef,
} from "./names";
export {
  cancelOperation,
  getOperation,
  waitForOperation,
  type WaitForOperationOptions,
} from "./operations";
export { projectExists } from "./projects";
export {
  deriveFeatures,
  getServerInfo,
  toServerInfo,
  type LxdFeatures,
  type LxdServerInfo,
} from "./server";
export {
  certificateFingerprint,
  describeEndpoint,
  findLocalSocket,
  type LxdEndpoint,
} from "./transport";
export * from "./types";
