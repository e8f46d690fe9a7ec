import type { InstanceKey } from "@/lib/instances/types";

/** URL of an instance's page; every part is URL-encoded. */
export function instancePath(key: InstanceKey): string {
  return `/instances/${encodeURIComponent(key.host)}/${encodeURIComponent(key.project)}/${encodeURIComponent(key.name)}`;
}

/** Key of an instance in maps and usage requests: "host/project/name". */
export function usageKey(key: InstanceKey): string {
  return `${key.host}/${key.project}/${key.name}`;
}
