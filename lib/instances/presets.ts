import { asc, eq } from "drizzle-orm";
import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { limitPresets, type LimitPreset } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { parseInput } from "@/lib/validation";

import { auditTarget, type Actor, type ConfigDiff } from "./config-change";
import { limitValuesSchema, updateLimits } from "./limits";
import type { InstanceKey } from "./types";

export type { LimitPreset } from "@/lib/db/schema";

export const PRESET_NAME_RULE =
  "1 to 40 lowercase letters, digits and hyphens, starting with a letter";

export const presetNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, `expected ${PRESET_NAME_RULE}`);

/** A preset as an admin saves it: at least one limit, none of them empty. */
export const presetInputSchema = z.strictObject({
  name: presetNameSchema,
  description: z.string().max(200, "expected at most 200 characters").default(""),
  limits: limitValuesSchema.refine(
    (limits) => Object.values(limits).some((value) => value !== undefined && value !== ""),
    "expected at least one limit",
  ),
});

/** Lists the presets by name. */
export async function listPresets(db: Db): Promise<LimitPreset[]> {
  return db.select().from(limitPresets).orderBy(asc(limitPresets.name));
}

/**
 * Adds a preset or replaces the one with the same name, audited as
 * "preset.save" with the old and new limits.
 */
export async function savePreset(
  db: Db,
  request: Actor & { preset: unknown },
): Promise<LimitPreset> {
  const params: Record<string, unknown> = { preset: request.preset };
  return runAudited(
    db,
    { actor: request.actor, sourceAddress: request.sourceAddress, action: "preset.save", params },
    async () => {
      const input = parseInput(presetInputSchema, request.preset);
      const limits = Object.fromEntries(
        Object.entries(input.limits).filter(([, value]) => value !== undefined && value !== ""),
      ) as Record<string, string>;

      const [existing] = await db
        .select()
        .from(limitPresets)
        .where(eq(limitPresets.name, input.name));
      params.before = existing ? existing.limits : null;
      params.after = limits;

      const values = {
        name: input.name,
        description: input.description,
        limits,
        updatedBy: request.actor.email,
      };
      const [saved] = await db
        .insert(limitPresets)
        .values(values)
        .onConflictDoUpdate({ target: limitPresets.name, set: values })
        .returning();
      if (!saved) throw new Error("insert into limit_presets returned no row");
      return saved;
    },
  );
}

/** Removes a preset, audited as "preset.delete". */
export async function deletePreset(
  db: Db,
  request: Actor & { name: unknown },
): Promise<void> {
  const params: Record<string, unknown> = { name: request.name };
  await runAudited(
    db,
    { actor: request.actor, sourceAddress: request.sourceAddress, action: "preset.delete", params },
    async () => {
      const name = parseInput(presetNameSchema, request.name);
      const [removed] = await db
        .delete(limitPresets)
        .where(eq(limitPresets.name, name))
        .returning();
      if (!removed) {
        throw new ConsoleError("not_found", `There is no preset named "${name}".`);
      }
      params.before = removed.limits;
    },
  );
}

/**
 * Applies a preset's limits to an instance as one limits change. Keys the
 * preset leaves out stay as they are.
 */
export async function applyPreset(
  db: Db,
  request: Actor & { key: InstanceKey; name: string; etag?: string | null },
): Promise<ConfigDiff> {
  const [preset] = await db
    .select()
    .from(limitPresets)
    .where(eq(limitPresets.name, request.name));

  if (!preset) {
    const target = auditTarget(request, "instance.limits.update", { preset: request.name });
    return runAudited(db, target, () =>
      Promise.reject(new ConsoleError("not_found", `There is no preset named "${request.name}".`)),
    );
  }

  return updateLimits(db, { ...request, preset: request.name, values: preset.limits });
}
