"use server";

import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { cloneInput, cloneInstance, type CloneResult } from "@/lib/hosts/clone";
import { ensureDatabaseHosts } from "@/lib/hosts/database-hosts";
import {
  migrateInput,
  migrateInstance,
  planMigration,
  type MigrateResult,
  type MigrationPlan,
} from "@/lib/hosts/migrate";
import { instanceKeySchema } from "@/lib/instances/schemas";
import { parseInput } from "@/lib/validation";

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

async function actionContext(permission: "instance:operate" | "instance:read") {
  const user = await requireUser(permission);
  await ensureDatabaseHosts();
  return {
    actor: { id: user.id, email: user.email },
    sourceAddress: await getSourceAddress(),
  };
}

/** Returns where an instance can move and whether a live move can work. */
export async function planMigrationAction(input: unknown): Promise<Result<MigrationPlan>> {
  try {
    await actionContext("instance:operate");
    const key = parseInput(instanceKeySchema, input);
    return { ok: true, value: await planMigration(getDb(), key) };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Moves an instance to another host or cluster member, audited. */
export async function migrateInstanceAction(input: unknown): Promise<Result<MigrateResult>> {
  try {
    const context = await actionContext("instance:operate");
    const request = parseInput(migrateInput, input);
    return { ok: true, value: await migrateInstance(getDb(), context, request) };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Copies an instance or a snapshot to a new name on this or another host, audited. */
export async function cloneInstanceAction(input: unknown): Promise<Result<CloneResult>> {
  try {
    const context = await actionContext("instance:operate");
    const request = parseInput(cloneInput, input);
    return { ok: true, value: await cloneInstance(getDb(), context, request) };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
