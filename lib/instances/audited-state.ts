import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { getClient, getHost } from "@/lib/hosts/registry";
import { changeInstanceState } from "@/lib/lxd";

import { auditTarget, runOperation, type Actor } from "./config-change";
import type { InstanceAction, InstanceKey } from "./types";

/** LXD's own timeout for a clean stop before it reports failure, in seconds. */
const STOP_TIMEOUT_SECONDS = 60;

export interface AuditedStateChange extends Actor {
  key: InstanceKey;
  action: InstanceAction;
  force?: boolean;
  /** Extra audit params, such as the incident or bulk run this belongs to. */
  auditParams?: Record<string, unknown>;
}

/**
 * Changes an instance's state as "instance.<action>", like the lifecycle
 * buttons, with extra audit params that link the rows to a larger action.
 */
export async function changeStateAudited(
  db: Db,
  request: AuditedStateChange,
): Promise<void> {
  const { key, action } = request;
  const force = request.force ?? false;
  getHost(key.host);

  await runAudited(
    db,
    auditTarget(request, `instance.${action}`, { force, ...request.auditParams }),
    async (audit) => {
      const client = getClient(key.host);
      const recording = { db, audit, actor: request.actor, action: `instance.${action}` };
      await runOperation(client, recording, key, action, () =>
        changeInstanceState(client, key, action, { force, timeout: STOP_TIMEOUT_SECONDS }),
      );
    },
  );
}

/** Formats a time as YYYYMMDD-HHMMSS in UTC, for snapshot names. */
export function compactTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
}
