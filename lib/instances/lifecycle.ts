import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { getClient, getHost } from "@/lib/hosts/registry";
import {
  LxdError,
  changeInstanceState as requestStateChange,
  waitForOperation,
} from "@/lib/lxd";
import type { InstanceAction, InstanceKey } from "./types";

/** LXD's own timeout for a clean stop before it reports failure, in seconds. */
const stopTimeoutSeconds = 60;
const operationTimeoutMs = 120_000;

export interface ChangeStateRequest {
  actor: { id: string; email: string };
  sourceAddress?: string;
  key: InstanceKey;
  action: InstanceAction;
  force?: boolean;
}

/**
 * Changes an instance's state and waits for LXD to finish. The audit intent
 * row is written before LXD is called, so when the audit store is down the
 * instance is left untouched.
 */
export async function changeInstanceState(
  db: Db,
  request: ChangeStateRequest,
): Promise<void> {
  const { key, action } = request;
  getHost(key.host);

  await runAudited(
    db,
    {
      actor: request.actor,
      sourceAddress: request.sourceAddress,
      action: `instance.${action}`,
      host: key.host,
      project: key.project,
      instance: key.name,
      params: { force: request.force ?? false },
    },
    async (audit) => {
      const client = getClient(key.host);
      try {
        const operation = await requestStateChange(client, key, action, {
          force: request.force ?? false,
          timeout: stopTimeoutSeconds,
        });
        audit.setOperationId(operation.id);
        await waitForOperation(client, operation, { timeoutMs: operationTimeoutMs });
      } catch (error) {
        throw describeLxdFailure(error, key, action);
      }
    },
  );
}

/** Rewrites LXD's errors into messages that name the instance and the fix. */
function describeLxdFailure(
  error: unknown,
  key: InstanceKey,
  action: InstanceAction,
): unknown {
  if (!(error instanceof LxdError)) return error;

  const where = `instance "${key.name}" in project "${key.project}" on host "${key.host}"`;
  if (error.status === 404) {
    return new ConsoleError("not_found", `Cannot ${action} ${where}: it does not exist.`, {
      cause: error,
    });
  }
  return new ConsoleError(
    "lxd_error",
    `Cannot ${action} ${where}: LXD answered "${error.message}".`,
    { cause: error },
  );
}
