import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";

import { runAudited, type AuditActor } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { instanceKeySchema } from "@/lib/instances/schemas";
import type { InstanceKey } from "@/lib/instances/types";
import {
  LxdError,
  changeInstanceState,
  getInstance,
  getServerInfo,
  type LxdInstanceFull,
  type LxdOperation,
} from "@/lib/lxd";
import { listClusterMembers } from "@/lib/lxd/certificates";
import { deleteInstance } from "@/lib/lxd/instance-writes";
import {
  instanceDefinition,
  moveInstanceToMember,
} from "@/lib/lxd/migration";

import { runRecordedOperation, type OperationOwner } from "./operations";
import { getClient, getHost, listHosts } from "./registry";
import { TRANSFER_TIMEOUT_MS, transferAcrossHosts } from "./transfer";

const STATE_TIMEOUT_MS = 120_000;
/** LXD's own timeout for a clean stop, in seconds. */
const STOP_TIMEOUT_SECONDS = 60;

export const migrateInput = instanceKeySchema.extend({
  targetHost: instanceKeySchema.shape.host,
  /** Cluster member to move to, on the same host. */
  targetMember: z.string().min(1).max(63).optional(),
  /** Move a running instance with its memory state (CRIU for containers). */
  live: z.boolean().default(false),
});

export type MigrateInput = z.infer<typeof migrateInput>;

export interface ActionContext {
  actor: AuditActor & { email: string };
  sourceAddress?: string | null;
}

export interface MigrateResult {
  host: string;
  member: string | null;
  /** Move method: live, stop-move-start, or the move of a stopped instance. */
  method: "live" | "stop-move-start" | "stopped";
  /** Milliseconds the instance was not running (stop-move-start only). */
  downtimeMs: number | null;
}

/** Targets and live-move verdict that the migrate dialog shows before anything happens. */
export interface MigrationPlan {
  status: string;
  type: string;
  /** Hosts other than the instance's own. */
  hosts: { id: string; name: string }[];
  /** Other cluster members, when the instance's host is clustered. */
  members: string[];
  live: { allowed: boolean; reason: string };
}

/**
 * Moves an instance to another host or cluster member. A running instance
 * moves live only when `live` is set; otherwise it is stopped, moved and
 * started again, and the downtime is returned. On failure the instance is
 * left on its host in its prior state and the target has no copy.
 */
export async function migrateInstance(
  db: Db,
  context: ActionContext,
  input: MigrateInput,
): Promise<MigrateResult> {
  const key: InstanceKey = { host: input.host, project: input.project, name: input.name };
  getHost(key.host);
  getHost(input.targetHost);
  const member = input.targetMember ?? null;
  if (member === null && input.targetHost === key.host) {
    throw new ConsoleError(
      "invalid_input",
      `"${key.name}" is already on host "${key.host}". Choose another host or a cluster member.`,
    );
  }
  if (member !== null && input.targetHost !== key.host) {
    throw new ConsoleError(
      "invalid_input",
      "A cluster member must belong to the instance's own host; leave the member empty to move to another host.",
    );
  }

  return runAudited(
    db,
    {
      actor: context.actor,
      sourceAddress: context.sourceAddress,
      action: "instance.migrate",
      host: key.host,
      project: key.project,
      instance: key.name,
      params: { targetHost: input.targetHost, targetMember: member, live: input.live },
    },
    async (audit) => {
      const owner: OperationOwner = {
        db,
        actor: context.actor.email,
        correlationId: audit.correlationId,
        action: "instance.migrate",
        project: key.project,
        instance: key.name,
      };
      const { instance } = await getInstance(getClient(key.host), key);
      const running = instance.status === "Running";
      if (member === null) await assertTargetFree(input.targetHost, key);
      else await assertOtherMember(key, member, instance.location);

      const move = (live: boolean) =>
        member === null
          ? moveAcrossHosts(owner, key, input.targetHost, instance, live, (id) => audit.setOperationId(id))
          : moveToMember(owner, key, member, live, (id) => audit.setOperationId(id));

      if (!running) {
        await move(false);
        return { host: input.targetHost, member, method: "stopped", downtimeMs: null };
      }
      if (input.live) {
        await move(true);
        return { host: input.targetHost, member, method: "live", downtimeMs: null };
      }
      const downtimeMs = await stopMoveStart(owner, key, input.targetHost, () => move(false));
      return { host: input.targetHost, member, method: "stop-move-start", downtimeMs };
    },
  );
}

async function assertTargetFree(targetHost: string, key: InstanceKey): Promise<void> {
  try {
    await getInstance(getClient(targetHost), key);
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return;
    throw error;
  }
  throw new ConsoleError(
    "conflict",
    `Host "${targetHost}" already has an instance "${key.name}" in project "${key.project}". ` +
      "Rename or delete it first.",
  );
}

/** Rejects a member that is not in the host's cluster, or that has the instance already. */
async function assertOtherMember(
  key: InstanceKey,
  member: string,
  location: string,
): Promise<void> {
  const client = getClient(key.host);
  const info = await getServerInfo(client);
  if (!info.clustered) {
    throw new ConsoleError(
      "invalid_input",
      `Host "${key.host}" is not a cluster member, so it has no member "${member}". ` +
        "Leave the member empty and choose another host.",
    );
  }
  const names = (await listClusterMembers(client)).map((entry) => entry.server_name);
  if (!names.includes(member)) {
    throw new ConsoleError(
      "invalid_input",
      `"${member}" is not a member of the cluster of host "${key.host}". ` +
        `Choose one of: ${names.join(", ")}.`,
    );
  }
  if (member === location) {
    throw new ConsoleError(
      "invalid_input",
      `"${key.name}" is already on member "${member}". Choose another member.`,
    );
  }
}

async function moveAcrossHosts(
  owner: OperationOwner,
  key: InstanceKey,
  targetHost: string,
  instance: LxdInstanceFull,
  live: boolean,
  setOperationId: (id: string) => void,
): Promise<void> {
  await transferAcrossHosts({
    owner,
    source: key,
    target: { ...key, host: targetHost },
    definition: instanceDefinition(instance, { keepVolatile: true }),
    live,
    instanceOnly: false,
    baseImage: instance.config["volatile.base_image"],
    onOperation: (host, operation) => {
      if (host === targetHost) setOperationId(operation.id);
    },
  });

  // The copy is complete, so the source instance goes. If that fails, the
  // copy goes instead and the instance stays where it was.
  try {
    await runRecordedOperation(
      owner,
      key.host,
      () => deleteInstance(getClient(key.host), key),
      { timeoutMs: STATE_TIMEOUT_MS },
    );
  } catch (error) {
    await runRecordedOperation(
      { ...owner, action: "instance.migrate.cleanup" },
      targetHost,
      () => deleteInstance(getClient(targetHost), key),
      { timeoutMs: STATE_TIMEOUT_MS },
    );
    throw new ConsoleError(
      "lxd_error",
      `"${key.name}" was copied to host "${targetHost}", but deleting it on host ` +
        `"${key.host}" failed (${(error as Error).message}), so the copy was deleted ` +
        `and the instance stays on "${key.host}".`,
      { cause: error },
    );
  }
}

async function moveToMember(
  owner: OperationOwner,
  key: InstanceKey,
  member: string,
  live: boolean,
  setOperationId: (id: string) => void,
): Promise<void> {
  await runRecordedOperation(
    owner,
    key.host,
    () => moveInstanceToMember(getClient(key.host), key, member, { live }),
    { timeoutMs: TRANSFER_TIMEOUT_MS, onStarted: (operation) => setOperationId(operation.id) },
  );
}

/**
 * Stops the instance, runs `move`, and starts it where it landed. When the
 * move fails the instance is started again on its own host. Returns the
 * milliseconds from the stop request to the end of the start.
 */
async function stopMoveStart(
  owner: OperationOwner,
  key: InstanceKey,
  targetHost: string,
  move: () => Promise<void>,
): Promise<number> {
  const stoppedAt = Date.now();
  await changeState(owner, key.host, key, "stop");

  try {
    await move();
  } catch (error) {
    try {
      await changeState(owner, key.host, key, "start");
    } catch (startError) {
      throw new ConsoleError(
        "lxd_error",
        `${(error as Error).message} Starting "${key.name}" again on host "${key.host}" ` +
          `failed too (${(startError as Error).message}), so it is stopped there now.`,
        { cause: error },
      );
    }
    throw error;
  }

  try {
    await changeState(owner, targetHost, key, "start");
  } catch (error) {
    throw new ConsoleError(
      "lxd_error",
      `"${key.name}" moved to host "${targetHost}" but did not start there: ` +
        `${(error as Error).message} It is stopped on "${targetHost}".`,
      { cause: error },
    );
  }
  return Date.now() - stoppedAt;
}

async function changeState(
  owner: OperationOwner,
  host: string,
  key: InstanceKey,
  action: "start" | "stop",
): Promise<LxdOperation> {
  return runRecordedOperation(
    owner,
    host,
    () =>
      changeInstanceState(getClient(host), key, action, {
        timeout: STOP_TIMEOUT_SECONDS,
      }),
    { timeoutMs: STATE_TIMEOUT_MS },
  );
}

/**
 * Describes where an instance can move and whether a live move can work,
 * so the dialog can show the reason before anything is sent to LXD.
 */
export async function planMigration(db: Db, key: InstanceKey): Promise<MigrationPlan> {
  const client = getClient(key.host);
  const [{ instance }, info] = await Promise.all([
    getInstance(client, key),
    getServerInfo(client),
  ]);
  const members = info.clustered
    ? (await listClusterMembers(client))
        .map((member) => member.server_name)
        .filter((name) => name !== instance.location)
    : [];

  return {
    status: instance.status,
    type: instance.type,
    hosts: listHosts()
      .filter((host) => host.id !== key.host)
      .map((host) => ({ id: host.id, name: host.name })),
    members,
    live: await liveMigrationVerdict(db, key, instance),
  };
}

async function liveMigrationVerdict(
  db: Db,
  key: InstanceKey,
  instance: LxdInstanceFull,
): Promise<{ allowed: boolean; reason: string }> {
  if (instance.status !== "Running") {
    return { allowed: false, reason: "The instance is not running, so it moves as it is." };
  }
  if (instance.type === "virtual-machine") {
    const stateful = instance.expanded_config["migration.stateful"] === "true";
    return stateful
      ? { allowed: true, reason: "The VM has migration.stateful set, so LXD can move it live." }
      : {
          allowed: false,
          reason:
            "A VM moves live only with migration.stateful=true set while it is stopped.",
        };
  }

  const lastFailure = await lastLiveFailure(db, key.host);
  const base =
    "A running container moves live only through CRIU on both hosts, and " +
    "LXD 5.0 does not report in its server information whether CRIU is " +
    "installed or works with the running kernel.";
  if (lastFailure) {
    return {
      allowed: true,
      reason: `${base} The last live move from host "${key.host}" failed: ${lastFailure}`,
    };
  }
  return { allowed: true, reason: `${base} If it fails, the container keeps running where it is.` };
}

/**
 * Returns the error of the last failed live move from `host`, from the audit
 * log, because LXD may refuse a live move before it starts an operation.
 */
async function lastLiveFailure(db: Db, host: string): Promise<string | null> {
  const [row] = await db
    .select({ error: auditEvents.error })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.host, host),
        eq(auditEvents.action, "instance.migrate"),
        eq(auditEvents.phase, "outcome"),
        eq(auditEvents.result, "failure"),
        sql`${auditEvents.params}->>'live' = 'true'`,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(1);
  return row?.error ?? null;
}
