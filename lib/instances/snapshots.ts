import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { getClient, getHost } from "@/lib/hosts/registry";
import type { LxdClient, LxdInstance, LxdOperation } from "@/lib/lxd";
import {
  createSnapshot,
  deleteSnapshot,
  restoreSnapshot,
} from "@/lib/lxd/snapshots";
import { parseInput } from "@/lib/validation";

import {
  applyConfigChange,
  auditTarget,
  diffConfig,
  lxdValueSchema,
  readInstance,
  runOperation,
  type Actor,
  type ConfigDiff,
} from "./config-change";
import { toInstanceDetail } from "./detail";
import {
  checkExpiry,
  checkSchedule,
  checkSnapshotName,
  checkSnapshotPattern,
} from "./lxd-formats";
import type { InstanceKey, SnapshotSummary } from "./types";

export const SNAPSHOT_CONFIG_KEYS = [
  "snapshots.schedule",
  "snapshots.expiry",
  "snapshots.pattern",
] as const;

export type SnapshotConfigKey = (typeof SNAPSHOT_CONFIG_KEYS)[number];

export const SNAPSHOT_CONFIG_FORMS: Record<SnapshotConfigKey, string> = {
  "snapshots.schedule":
    'a cron expression such as "0 3 * * *", or @hourly, @daily, @midnight, ' +
    "@weekly, @monthly, @annually, @yearly, @startup or @never; separate " +
    'several with ", "',
  "snapshots.expiry":
    "amounts with units such as 1d, 2w or 3M 12H: M minutes, H hours, " +
    "d days, w weeks, m months, y years",
  "snapshots.pattern":
    "a name template such as snap%d or " +
    "{{ creation_date|date:'2006-01-02' }}, without / ? & or +",
};

export const SNAPSHOT_NAME_FORMS =
  'text without spaces, / ? & or +, other than "." and ".."';

export const snapshotNameSchema = z.string().superRefine((value, context) => {
  const reason = checkSnapshotName(value);
  if (reason !== null) {
    context.addIssue({
      code: "custom",
      message:
        `Invalid snapshot name ${JSON.stringify(value)}: ${reason}. ` +
        `Accepted: ${SNAPSHOT_NAME_FORMS}.`,
    });
  }
});

export const snapshotConfigSchema = z.strictObject({
  "snapshots.schedule": lxdValueSchema(
    "snapshots.schedule",
    checkSchedule,
    SNAPSHOT_CONFIG_FORMS["snapshots.schedule"],
  ).optional(),
  "snapshots.expiry": lxdValueSchema(
    "snapshots.expiry",
    checkExpiry,
    SNAPSHOT_CONFIG_FORMS["snapshots.expiry"],
  ).optional(),
  "snapshots.pattern": lxdValueSchema(
    "snapshots.pattern",
    checkSnapshotPattern,
    SNAPSHOT_CONFIG_FORMS["snapshots.pattern"],
  ).optional(),
});

export type SnapshotConfig = z.infer<typeof snapshotConfigSchema>;

/** Whether a stateful snapshot can be taken now, and why not. */
export interface StatefulSupport {
  available: boolean;
  reason: string | null;
}

export interface SnapshotsView {
  etag: string | null;
  snapshots: SnapshotSummary[];
  /** Schedule settings as set on the instance and as in effect. */
  config: Record<SnapshotConfigKey, { own: string | null; effective: string | null }>;
  stateful: StatefulSupport;
}

/** Reads an instance's snapshots, snapshot settings and stateful support. */
export async function readSnapshots(db: Db, key: InstanceKey): Promise<SnapshotsView> {
  getHost(key.host);
  const { instance, etag } = await readInstance(getClient(key.host), key);
  const expanded = instance.expanded_config ?? instance.config;
  const config = Object.fromEntries(
    SNAPSHOT_CONFIG_KEYS.map((name) => [
      name,
      { own: instance.config[name] ?? null, effective: expanded[name] ?? null },
    ]),
  ) as SnapshotsView["config"];

  return {
    etag,
    snapshots: toInstanceDetail(key.host, instance).snapshots,
    config,
    stateful: await statefulSupport(db, key.host, instance),
  };
}

// LXD needs CRIU to save a container's memory, and LXD 5.0 only finds out
// whether CRIU works by trying. Its failures mention CRIU or the dump.
const CRIU_FAILURE = /criu|migration dump|checkpoint/i;

/**
 * Decides whether a stateful snapshot is possible, from what LXD reports:
 * the instance must run, a VM needs migration.stateful, and a container
 * host must not have failed the last stateful snapshot with a CRIU error.
 * That last result is read from the audit log, which keeps LXD's error.
 */
export async function statefulSupport(
  db: Db,
  host: string,
  instance: LxdInstance,
): Promise<StatefulSupport> {
  if (instance.status !== "Running") {
    return unavailable("Only a running instance has memory state to save.");
  }
  const expanded = instance.expanded_config ?? instance.config;
  if (instance.type === "virtual-machine") {
    return expanded["migration.stateful"] === "true"
      ? { available: true, reason: null }
      : unavailable("Set migration.stateful=true on this VM (while it is stopped) first.");
  }

  const [last] = await db
    .select({ result: auditEvents.result, error: auditEvents.error, at: auditEvents.at })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.host, host),
        eq(auditEvents.action, "instance.snapshot.create"),
        eq(auditEvents.phase, "outcome"),
        sql`${auditEvents.params}->>'stateful' = 'true'`,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(1);

  if (last?.result === "failure" && CRIU_FAILURE.test(last.error ?? "")) {
    return unavailable(
      `Host "${host}" cannot save container memory: the last stateful ` +
        `snapshot there, at ${last.at.toISOString()}, failed. ${last.error}`,
    );
  }
  return { available: true, reason: null };
}

function unavailable(reason: string): StatefulSupport {
  return { available: false, reason };
}

export interface CreateSnapshotRequest extends Actor {
  key: InstanceKey;
  /** Raw name from the user, validated inside the audited action. */
  name: unknown;
  stateful?: boolean;
  /** Extra audit params, such as the incident this snapshot belongs to. */
  auditParams?: Record<string, unknown>;
}

/** Takes a snapshot, audited as "instance.snapshot.create". */
export async function createInstanceSnapshot(
  db: Db,
  request: CreateSnapshotRequest,
): Promise<void> {
  const { key } = request;
  const stateful = request.stateful ?? false;
  getHost(key.host);

  await runAudited(
    db,
    auditTarget(request, "instance.snapshot.create", {
      name: request.name,
      stateful,
      ...request.auditParams,
    }),
    async (audit) => {
      const name = parseInput(snapshotNameSchema, request.name);
      const client = getClient(key.host);

      if (stateful) {
        const { instance } = await readInstance(client, key);
        const support = await statefulSupport(db, key.host, instance);
        if (!support.available) {
          throw new ConsoleError("invalid_input", `Cannot take a stateful snapshot. ${support.reason}`);
        }
      }

      const recording = { db, audit, actor: request.actor, action: "instance.snapshot.create" };
      await runOperation(client, recording, key, `snapshot`, () =>
        createSnapshot(client, key, name, { stateful }),
      );
    },
  );
}

export interface SnapshotRequest extends Actor {
  key: InstanceKey;
  name: unknown;
}

/**
 * Restores an instance to a snapshot, audited as "instance.snapshot.restore".
 * Every change made after the snapshot is lost.
 */
export async function restoreInstanceSnapshot(
  db: Db,
  request: SnapshotRequest,
): Promise<void> {
  await runSnapshotAction(db, request, "restore", (client, key, name) =>
    restoreSnapshot(client, key, name),
  );
}

/** Deletes a snapshot, audited as "instance.snapshot.delete". */
export async function deleteInstanceSnapshot(
  db: Db,
  request: SnapshotRequest,
): Promise<void> {
  await runSnapshotAction(db, request, "delete", (client, key, name) =>
    deleteSnapshot(client, key, name),
  );
}

async function runSnapshotAction(
  db: Db,
  request: SnapshotRequest,
  verb: "restore" | "delete",
  start: (client: LxdClient, key: InstanceKey, name: string) => Promise<LxdOperation>,
): Promise<void> {
  const { key } = request;
  getHost(key.host);

  await runAudited(
    db,
    auditTarget(request, `instance.snapshot.${verb}`, { name: request.name }),
    async (audit) => {
      const name = parseInput(snapshotNameSchema, request.name);
      const client = getClient(key.host);
      const recording = { db, audit, actor: request.actor, action: `instance.snapshot.${verb}` };
      await runOperation(client, recording, key, `${verb} snapshot "${name}" of`, () =>
        start(client, key, name),
      );
    },
  );
}

export interface UpdateScheduleRequest extends Actor {
  key: InstanceKey;
  values: unknown;
  etag?: string | null;
}

/**
 * Saves snapshots.schedule, snapshots.expiry and snapshots.pattern, audited
 * as "instance.snapshot.schedule" with the before and after values. A key
 * set to "" is unset.
 */
export async function updateSnapshotSchedule(
  db: Db,
  request: UpdateScheduleRequest,
): Promise<ConfigDiff> {
  let values: SnapshotConfig = {};
  return applyConfigChange(db, {
    ...request,
    action: "instance.snapshot.schedule",
    requested: { values: request.values },
    validate: () => {
      values = parseInput(snapshotConfigSchema, request.values);
    },
    edit: (put) => {
      const current = { ...put.config };
      for (const name of SNAPSHOT_CONFIG_KEYS) {
        const value = values[name];
        if (value === undefined) continue;
        if (value === "") delete put.config[name];
        else put.config[name] = value;
      }
      return diffConfig(current, put.config, SNAPSHOT_CONFIG_KEYS);
    },
  });
}
