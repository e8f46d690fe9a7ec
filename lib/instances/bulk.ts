import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError, userMessage } from "@/lib/errors";
import { parseInput } from "@/lib/validation";

import { changeStateAudited, compactTimestamp } from "./audited-state";
import type { Actor } from "./config-change";
import { instanceKeySchema } from "./schemas";
import { createInstanceSnapshot } from "./snapshots";
import type { InstanceKey } from "./types";

/** Largest selection one bulk action takes. */
export const MAX_BULK_INSTANCES = 50;

export const bulkActions = ["start", "stop", "freeze", "unfreeze", "snapshot"] as const;

export type BulkAction = (typeof bulkActions)[number];

export const bulkInputSchema = z.strictObject({
  action: z.enum(bulkActions),
  force: z.boolean().default(false),
  instances: z
    .array(instanceKeySchema)
    .min(1, "select at least one instance")
    .max(MAX_BULK_INSTANCES, `expected at most ${MAX_BULK_INSTANCES} instances`),
});

export interface BulkItemResult {
  key: InstanceKey;
  ok: boolean;
  /** Reason the action failed on this instance, as shown to the user. */
  error: string | null;
}

export interface BulkResult {
  /** Correlation id of the "instance.bulk" rows, referenced by each item's rows. */
  bulkId: string;
  /** Name of the snapshots taken, for the snapshot action. */
  snapshot: string | null;
  items: BulkItemResult[];
}

/**
 * Runs one action over a selection, one instance after another, and
 * returns a result per instance. The run is audited as "instance.bulk",
 * and each instance's own rows carry its correlation id in params.bulk. A
 * failure on one instance does not stop the others.
 */
export async function runBulkAction(
  db: Db,
  request: Actor & { input: unknown },
): Promise<BulkResult> {
  const input = bulkInputSchema.safeParse(request.input);
  const params: Record<string, unknown> = {
    action: input.success ? input.data.action : null,
    instances: input.success ? input.data.instances.map(formatKey) : null,
  };
  // Set once every instance was tried, so a partial failure still returns it.
  const done: { result: BulkResult | null } = { result: null };

  try {
    await runAudited(
      db,
      { actor: request.actor, sourceAddress: request.sourceAddress, action: "instance.bulk", params },
      async (audit) => {
        const { action, force, instances } = parseInput(bulkInputSchema, request.input);
        const snapshot = action === "snapshot" ? `bulk-${compactTimestamp(new Date())}` : null;
        const link = { bulk: audit.correlationId };
        const items: BulkItemResult[] = [];

        for (const key of instances) {
          const item = { ...request, key, auditParams: link };
          try {
            if (action === "snapshot") {
              await createInstanceSnapshot(db, { ...item, name: snapshot ?? "" });
            } else {
              await changeStateAudited(db, { ...item, action, force });
            }
            items.push({ key, ok: true, error: null });
          } catch (error) {
            items.push({ key, ok: false, error: userMessage(error) });
          }
        }

        done.result = { bulkId: audit.correlationId, snapshot, items };
        const failed = items.filter((entry) => !entry.ok).length;
        params.failed = failed;
        if (failed > 0) {
          throw new ConsoleError("lxd_error", `The ${action} failed on ${failed} of ${items.length} instances.`);
        }
      },
    );
  } catch (error) {
    if (done.result === null) throw error;
  }
  if (done.result === null) throw new Error("bulk action ended without a result");
  return done.result;
}

function formatKey(key: InstanceKey): string {
  return `${key.host}/${key.project}/${key.name}`;
}
