import type { InstanceKey } from "@/lib/instances/types";

/** TanStack Query keys, built in one place, shaped [resource, host, project, name]. */
export const queryKeys = {
  fleet: () => ["fleet"] as const,
  instance: (key: InstanceKey) =>
    ["instance", key.host, key.project, key.name] as const,
  instanceUsage: (keys: string[]) => ["instance-usage", ...keys] as const,
  audit: () => ["audit"] as const,
  /** Viewers and controller of each watched sandbox, from /api/sessions. */
  vncSessions: () => ["vnc-sessions"] as const,
};
