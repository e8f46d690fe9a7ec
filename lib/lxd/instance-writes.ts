import { lxdPath, type LxdClient } from "./client";
import { assertInstanceRef, type LxdInstanceRef } from "./names";
import type { LxdDevice, LxdInstance, LxdOperation } from "./types";

/** The writable fields of an instance, the body of PUT /1.0/instances/NAME. */
export interface LxdInstancePut {
  architecture: string;
  config: Record<string, string>;
  devices: Record<string, LxdDevice>;
  ephemeral: boolean;
  profiles: string[];
  description: string;
}

/** Copies the writable fields out of a fetched instance. */
export function toInstancePut(instance: LxdInstance): LxdInstancePut {
  return {
    architecture: instance.architecture,
    config: { ...instance.config },
    devices: structuredClone(instance.devices),
    ephemeral: instance.ephemeral,
    profiles: [...instance.profiles],
    description: instance.description,
  };
}

/**
 * Replaces an instance's writable fields with PUT /1.0/instances/NAME, so
 * keys left out of `config` are removed. With the ETag of an earlier GET,
 * LXD rejects the change with 412 when the instance changed in between.
 * Returns LXD's operation.
 */
export async function replaceInstance(
  client: LxdClient,
  ref: LxdInstanceRef,
  put: LxdInstancePut,
  options: { etag?: string | null } = {},
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "PUT",
    lxdPath`/1.0/instances/${ref.name}`,
    { query: { project: ref.project }, body: put, etag: options.etag },
  );
}

/**
 * Starts deleting an instance with DELETE /1.0/instances/NAME. LXD rejects
 * the request while the instance runs. Returns LXD's operation.
 */
export async function deleteInstance(
  client: LxdClient,
  ref: LxdInstanceRef,
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "DELETE",
    lxdPath`/1.0/instances/${ref.name}`,
    { query: { project: ref.project } },
  );
}
