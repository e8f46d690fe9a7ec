import { lxdPath, type LxdClient } from "./client";
import { assertInstanceRef, type LxdInstanceRef } from "./names";
import type { LxdOperation, LxdSnapshot } from "./types";

export interface CreateSnapshotOptions {
  /** Save the running instance's memory too. Containers need CRIU for it. */
  stateful?: boolean;
  /** RFC 3339 expiry time. Without it LXD applies `snapshots.expiry`. */
  expiresAt?: string;
}

/** Lists an instance's snapshots with GET /1.0/instances/NAME/snapshots. */
export async function listSnapshots(
  client: LxdClient,
  ref: LxdInstanceRef,
): Promise<LxdSnapshot[]> {
  assertInstanceRef(ref);
  const result = await client.requestSync<LxdSnapshot[] | null>(
    "GET",
    lxdPath`/1.0/instances/${ref.name}/snapshots`,
    { query: { project: ref.project, recursion: 1 } },
  );
  return result.metadata ?? [];
}

/**
 * Starts a snapshot with POST /1.0/instances/NAME/snapshots and returns
 * LXD's operation.
 */
export async function createSnapshot(
  client: LxdClient,
  ref: LxdInstanceRef,
  snapshotName: string,
  options: CreateSnapshotOptions = {},
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  const body: Record<string, unknown> = {
    name: snapshotName,
    stateful: options.stateful ?? false,
  };
  if (options.expiresAt !== undefined) body.expires_at = options.expiresAt;

  return client.requestOperation(
    "POST",
    lxdPath`/1.0/instances/${ref.name}/snapshots`,
    { query: { project: ref.project }, body },
  );
}

/**
 * Starts restoring an instance to a snapshot with PUT /1.0/instances/NAME
 * and `restore`, which discards every change made since the snapshot.
 */
export async function restoreSnapshot(
  client: LxdClient,
  ref: LxdInstanceRef,
  snapshotName: string,
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "PUT",
    lxdPath`/1.0/instances/${ref.name}`,
    { query: { project: ref.project }, body: { restore: snapshotName } },
  );
}

/** Starts deleting one snapshot and returns LXD's operation. */
export async function deleteSnapshot(
  client: LxdClient,
  ref: LxdInstanceRef,
  snapshotName: string,
): Promise<LxdOperation> {
  assertInstanceRef(ref);
  return client.requestOperation(
    "DELETE",
    lxdPath`/1.0/instances/${ref.name}/snapshots/${snapshotName}`,
    { query: { project: ref.project } },
  );
}
