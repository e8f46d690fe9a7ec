import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { getClient, getHost } from "@/lib/hosts/registry";
import { parseInput } from "@/lib/validation";

import { changeStateAudited, compactTimestamp } from "./audited-state";
import { auditTarget, readInstance, type Actor } from "./config-change";
import { createInstanceSnapshot } from "./snapshots";
import type { InstanceKey } from "./types";

export const incidentReasonSchema = z
  .string()
  .trim()
  .min(1, "describe the incident in a few words")
  .max(2000, "expected at most 2000 characters");

export interface IncidentRequest extends Actor {
  key: InstanceKey;
  /** Free text from the admin, validated inside the audited action. */
  reason: unknown;
  /** Time the snapshot is named after, now unless given. */
  now?: Date;
}

export interface IncidentResult {
  /** Correlation id of the "instance.incident" rows, referenced by the others. */
  incidentId: string;
  snapshot: string;
  /** Effect on the instance's processes. */
  freeze: "frozen" | "already frozen" | "not running";
}

/**
 * Freezes an instance and snapshots it under incident-YYYYMMDD-HHMMSS, as
 * one "instance.incident" audit action. The freeze and snapshot rows carry
 * the incident's correlation id in params.incident. The freeze comes first,
 * so the snapshot contains the files as they were when the admin acted.
 */
export async function respondToIncident(
  db: Db,
  request: IncidentRequest,
): Promise<IncidentResult> {
  const { key } = request;
  getHost(key.host);
  const snapshot = `incident-${compactTimestamp(request.now ?? new Date())}`;
  const params: Record<string, unknown> = { reason: request.reason, snapshot };

  return runAudited(db, auditTarget(request, "instance.incident", params), async (audit) => {
    const reason = parseInput(incidentReasonSchema, request.reason);
    const link = { incident: audit.correlationId };
    const { instance } = await readInstance(getClient(key.host), key);

    let freeze: IncidentResult["freeze"] = "not running";
    if (instance.status === "Frozen") freeze = "already frozen";
    if (instance.status === "Running") {
      await changeStateAudited(db, { ...request, action: "freeze", auditParams: link });
      freeze = "frozen";
    }
    params.freeze = freeze;

    await createInstanceSnapshot(db, {
      ...request,
      name: snapshot,
      auditParams: { ...link, reason },
    });
    return { incidentId: audit.correlationId, snapshot, freeze };
  });
}
