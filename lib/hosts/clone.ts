import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { instanceKeySchema } from "@/lib/instances/schemas";
import type { InstanceKey } from "@/lib/instances/types";
import {
  LxdError,
  changeInstanceState,
  getInstance,
  instanceNameSchema,
  type LxdClient,
} from "@/lib/lxd";
import {
  copyInstanceLocally,
  type InstanceDefinition,
  getSnapshotDefinition,
  instanceDefinition,
} from "@/lib/lxd/migration";

import type { ActionContext } from "./migrate";
import { runRecordedOperation, type OperationOwner } from "./operations";
import { getClient, getHost } from "./registry";
import { TRANSFER_TIMEOUT_MS, deleteIfPresent, transferAcrossHosts } from "./transfer";

const START_TIMEOUT_MS = 120_000;

export const cloneInput = instanceKeySchema.extend({
  /** Snapshot to copy instead of the instance's current state. */
  snapshot: z.string().min(1).max(63).regex(/^[^/]+$/, "expected a snapshot name without /").optional(),
  targetHost: instanceKeySchema.shape.host,
  targetName: instanceNameSchema,
  /** Copy without the instance's snapshots. */
  instanceOnly: z.boolean().default(false),
  /** Start the copy once it is made. */
  start: z.boolean().default(false),
});

export type CloneInput = z.infer<typeof cloneInput>;

export interface CloneResult {
  key: InstanceKey;
  started: boolean;
}

/**
 * Copies an instance, or one of its snapshots, to a new name on the same
 * host (source type "copy") or on another host (migration API). A running
 * instance is copied without its memory state. When the copy or its start
 * fails, the copy is deleted and the source is untouched.
 */
export async function cloneInstance(
  db: Db,
  context: ActionContext,
  input: CloneInput,
): Promise<CloneResult> {
  const source: InstanceKey = { host: input.host, project: input.project, name: input.name };
  const target: InstanceKey = { host: input.targetHost, project: input.project, name: input.targetName };
  getHost(source.host);
  getHost(target.host);

  return runAudited(
    db,
    {
      actor: context.actor,
      sourceAddress: context.sourceAddress,
      action: "instance.clone",
      host: source.host,
      project: source.project,
      instance: source.name,
      params: {
        snapshot: input.snapshot ?? null,
        targetHost: target.host,
        targetName: target.name,
        instanceOnly: input.instanceOnly,
        start: input.start,
      },
    },
    async (audit) => {
      const owner: OperationOwner = {
        db,
        actor: context.actor.email,
        correlationId: audit.correlationId,
        action: "instance.clone",
        project: source.project,
        instance: source.name,
      };
      await assertNameFree(target);

      if (target.host === source.host) {
        await copyOnHost(owner, source, target, input, (id) => audit.setOperationId(id));
      } else {
        await copyAcrossHosts(owner, source, target, input, (id) => audit.setOperationId(id));
      }

      if (!input.start) return { key: target, started: false };
      try {
        await runRecordedOperation(
          owner,
          target.host,
          () => changeInstanceState(getClient(target.host), target, "start"),
          { timeoutMs: START_TIMEOUT_MS },
        );
      } catch (error) {
        await deleteIfPresent(owner, target);
        throw new ConsoleError(
          "lxd_error",
          `The copy "${target.name}" on host "${target.host}" was made but did not start ` +
            `(${(error as Error).message}), so it was deleted again.`,
          { cause: error },
        );
      }
      return { key: target, started: true };
    },
  );
}

async function copyOnHost(
  owner: OperationOwner,
  source: InstanceKey,
  target: InstanceKey,
  input: CloneInput,
  setOperationId: (id: string) => void,
): Promise<void> {
  const client = getClient(source.host);
  const { definition } = await sourceDefinition(client, source, input.snapshot);
  try {
    await runRecordedOperation(
      owner,
      source.host,
      () =>
        copyInstanceLocally(client, {
          project: source.project,
          name: target.name,
          source: input.snapshot ? `${source.name}/${input.snapshot}` : source.name,
          definition,
          instanceOnly: input.instanceOnly,
        }),
      {
        timeoutMs: TRANSFER_TIMEOUT_MS,
        onStarted: (operation) => setOperationId(operation.id),
      },
    );
  } catch (error) {
    // LXD normally removes a failed copy itself; this covers the case it does not.
    await deleteIfPresent(owner, target).catch(() => undefined);
    throw error;
  }
}

async function copyAcrossHosts(
  owner: OperationOwner,
  source: InstanceKey,
  target: InstanceKey,
  input: CloneInput,
  setOperationId: (id: string) => void,
): Promise<void> {
  const client = getClient(source.host);
  const { definition, baseImage } = await sourceDefinition(client, source, input.snapshot);

  await transferAcrossHosts({
    owner,
    source: { ...source, snapshot: input.snapshot },
    target,
    definition,
    live: false,
    instanceOnly: input.instanceOnly,
    baseImage,
    onOperation: (host, operation) => {
      if (host === target.host) setOperationId(operation.id);
    },
  });
}

/**
 * Returns the definition of the instance or snapshot to copy, without its
 * volatile keys, and the image it was made from.
 */
async function sourceDefinition(
  client: LxdClient,
  source: InstanceKey,
  snapshot: string | undefined,
): Promise<{ definition: InstanceDefinition; baseImage?: string }> {
  const { instance } = await getInstance(client, source);
  // A snapshot has no type of its own, so the instance's is used.
  const origin = snapshot
    ? { ...(await getSnapshotDefinition(client, source, snapshot)), type: instance.type }
    : instance;
  return {
    definition: instanceDefinition(origin, { keepVolatile: false }),
    baseImage: origin.config["volatile.base_image"],
  };
}

async function assertNameFree(target: InstanceKey): Promise<void> {
  try {
    await getInstance(getClient(target.host), target);
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return;
    throw error;
  }
  throw new ConsoleError(
    "conflict",
    `Host "${target.host}" already has an instance "${target.name}" in project ` +
      `"${target.project}". Choose another name.`,
  );
}
