import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { getClient, getHost } from "@/lib/hosts/registry";
import { changeInstanceState } from "@/lib/lxd";
import { deleteInstance } from "@/lib/lxd/instance-writes";

import { auditTarget, readInstance, runOperation, type Actor } from "./config-change";
import type { InstanceKey } from "./types";

export interface DeleteInstanceRequest extends Actor {
  key: InstanceKey;
  /** Name the user typed to confirm, which must equal the instance's name. */
  confirmName: unknown;
  /** Kill a running or frozen instance first instead of rejecting the delete. */
  force?: boolean;
}

/**
 * Deletes an instance with its snapshots, audited as "instance.delete". A
 * running or frozen instance is rejected unless `force` is set, in which
 * case it is killed first. When the delete itself then fails, the instance
 * stays stopped.
 */
export async function deleteInstanceAudited(
  db: Db,
  request: DeleteInstanceRequest,
): Promise<void> {
  const { key } = request;
  const force = request.force ?? false;
  getHost(key.host);
  const params: Record<string, unknown> = { force };

  await runAudited(db, auditTarget(request, "instance.delete", params), async (audit) => {
    if (request.confirmName !== key.name) {
      throw new ConsoleError(
        "invalid_input",
        `Type the instance name "${key.name}" exactly to confirm the delete; ` +
          `you typed ${JSON.stringify(request.confirmName ?? "")}.`,
      );
    }

    const client = getClient(key.host);
    const { instance } = await readInstance(client, key);
    const active = instance.status !== "Stopped" && instance.status !== "Error";
    params.status = instance.status;

    if (active && !force) {
      throw new ConsoleError(
        "conflict",
        `Instance "${key.name}" is ${instance.status.toLowerCase()}. Stop it ` +
          "first, or choose a forced delete, which kills its processes.",
      );
    }
    const recording = { db, audit, actor: request.actor, action: "instance.delete" };
    if (active) {
      await runOperation(client, recording, key, "stop", () =>
        changeInstanceState(client, key, "stop", { force: true }),
      );
    }

    await runOperation(client, recording, key, "delete", () => deleteInstance(client, key));
  });
}
