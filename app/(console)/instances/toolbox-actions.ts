"use server";

import { z } from "zod";

import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ConsoleError, userMessage } from "@/lib/errors";
import { runBulkAction, type BulkResult } from "@/lib/instances/bulk";
import type { ConfigDiff } from "@/lib/instances/config-change";
import { deleteInstanceAudited } from "@/lib/instances/delete";
import { respondToIncident, type IncidentResult } from "@/lib/instances/incident";
import { readLimits, updateLimits, type LimitsView } from "@/lib/instances/limits";
import {
  applyPreset,
  deletePreset,
  listPresets,
  savePreset,
  type LimitPreset,
} from "@/lib/instances/presets";
import { instanceKeySchema } from "@/lib/instances/schemas";
import {
  createInstanceSnapshot,
  deleteInstanceSnapshot,
  readSnapshots,
  restoreInstanceSnapshot,
  updateSnapshotSchedule,
  type SnapshotsView,
} from "@/lib/instances/snapshots";
import { parseInput } from "@/lib/validation";

export type ToolboxResult<T = object> =
  | ({ ok: true } & T)
  | { ok: false; error: string; code: string };

export interface ToolboxView {
  snapshots: SnapshotsView;
  limits: LimitsView;
  presets: LimitPreset[];
}

const etagSchema = z.string().nullable().optional();

/**
 * Runs an action for a user with `instance:operate` and turns errors into
 * a result the client shows. The action gets the actor fields the audit
 * rows need.
 */
async function operate<T extends object>(
  run: (actor: {
    actor: { id: string; email: string };
    sourceAddress?: string;
  }) => Promise<T>,
): Promise<ToolboxResult<T>> {
  try {
    const user = await requireUser("instance:operate");
    const sourceAddress = (await getSourceAddress()) ?? undefined;
    const value = await run({ actor: { id: user.id, email: user.email }, sourceAddress });
    return { ok: true, ...value };
  } catch (error) {
    const code = error instanceof ConsoleError ? error.code : "internal";
    return { ok: false, error: userMessage(error), code };
  }
}

/** Loads snapshots, limits, usage and presets of one instance. */
export async function loadToolboxAction(input: unknown): Promise<ToolboxResult<ToolboxView>> {
  try {
    await requireUser("instance:read");
    const key = parseInput(instanceKeySchema, input);
    const db = getDb();
    const [snapshots, limits, presets] = await Promise.all([
      readSnapshots(db, key),
      readLimits(key),
      listPresets(db),
    ]);
    return { ok: true, snapshots, limits, presets };
  } catch (error) {
    const code = error instanceof ConsoleError ? error.code : "internal";
    return { ok: false, error: userMessage(error), code };
  }
}

const createSnapshotInput = instanceKeySchema.extend({
  snapshot: z.string(),
  stateful: z.boolean().default(false),
});

/** Takes a snapshot of one instance. */
export async function createSnapshotAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    const { snapshot, stateful, ...key } = parseInput(createSnapshotInput, input);
    await createInstanceSnapshot(getDb(), { ...actor, key, name: snapshot, stateful });
    return {};
  });
}

const snapshotInput = instanceKeySchema.extend({ snapshot: z.string() });

/** Restores one instance to a snapshot, losing every later change. */
export async function restoreSnapshotAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    const { snapshot, ...key } = parseInput(snapshotInput, input);
    await restoreInstanceSnapshot(getDb(), { ...actor, key, name: snapshot });
    return {};
  });
}

/** Deletes one snapshot. */
export async function deleteSnapshotAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    const { snapshot, ...key } = parseInput(snapshotInput, input);
    await deleteInstanceSnapshot(getDb(), { ...actor, key, name: snapshot });
    return {};
  });
}

const configInput = instanceKeySchema.extend({
  etag: etagSchema,
  values: z.record(z.string(), z.string()),
});

/** Saves snapshots.schedule, snapshots.expiry and snapshots.pattern. */
export async function updateScheduleAction(
  input: unknown,
): Promise<ToolboxResult<{ diff: ConfigDiff }>> {
  return operate(async (actor) => {
    const { etag, values, ...key } = parseInput(configInput, input);
    return { diff: await updateSnapshotSchedule(getDb(), { ...actor, key, etag, values }) };
  });
}

/** Applies resource limits live, with the ETag the form was loaded with. */
export async function updateLimitsAction(
  input: unknown,
): Promise<ToolboxResult<{ diff: ConfigDiff }>> {
  return operate(async (actor) => {
    const { etag, values, ...key } = parseInput(configInput, input);
    return { diff: await updateLimits(getDb(), { ...actor, key, etag, values }) };
  });
}

const applyPresetInput = instanceKeySchema.extend({ etag: etagSchema, preset: z.string() });

/** Applies a named preset's limits to one instance. */
export async function applyPresetAction(
  input: unknown,
): Promise<ToolboxResult<{ diff: ConfigDiff }>> {
  return operate(async (actor) => {
    const { etag, preset, ...key } = parseInput(applyPresetInput, input);
    return { diff: await applyPreset(getDb(), { ...actor, key, etag, name: preset }) };
  });
}

/** Adds a preset or replaces the one with the same name. */
export async function savePresetAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    await savePreset(getDb(), { ...actor, preset: input });
    return {};
  });
}

/** Removes a preset. */
export async function deletePresetAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    const { name } = parseInput(z.strictObject({ name: z.string() }), input);
    await deletePreset(getDb(), { ...actor, name });
    return {};
  });
}

const deleteInput = instanceKeySchema.extend({
  confirmName: z.string(),
  force: z.boolean().default(false),
});

/** Deletes an instance after the user typed its name. */
export async function deleteInstanceAction(input: unknown): Promise<ToolboxResult> {
  return operate(async (actor) => {
    const { confirmName, force, ...key } = parseInput(deleteInput, input);
    await deleteInstanceAudited(getDb(), { ...actor, key, confirmName, force });
    return {};
  });
}

/** Starts, stops, freezes, unfreezes or snapshots a selection. */
export async function bulkAction(input: unknown): Promise<ToolboxResult<BulkResult>> {
  return operate(async (actor) => runBulkAction(getDb(), { ...actor, input }));
}

const incidentInput = instanceKeySchema.extend({ reason: z.string() });

/** Freezes an instance and snapshots it as one audited incident. */
export async function incidentAction(input: unknown): Promise<ToolboxResult<IncidentResult>> {
  return operate(async (actor) => {
    const { reason, ...key } = parseInput(incidentInput, input);
    return respondToIncident(getDb(), { ...actor, key, reason });
  });
}
