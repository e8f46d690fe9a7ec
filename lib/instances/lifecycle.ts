import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError, describeLxdMessage } from "@/lib/errors";
import { getClient, getHost } from "@/lib/hosts/registry";
import {
  LxdError,
  changeInstanceState as requestStateChange,
  waitForOperation,
  type LxdOperation,
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
      let operation: LxdOperation;
      try {
        operation = await requestStateChange(client, key, action, {
          force: request.force ?? false,
          timeout: stopTimeoutSeconds,
        });
      } catch (error) {
        throw describeLxdFailure(error, key, action, { started: false });
      }

      audit.setOperationId(operation.id);
      try {
        await waitForOperation(client, operation, { timeoutMs: operationTimeoutMs });
      } catch (error) {
        throw describeLxdFailure(error, key, action, { started: true });
      }
    },
  );
}

/**
 * Rewrites LXD's errors into messages that name the instance and the fix.
 * When the outcome is unknown, the message says so and tells the user to
 * check the instance's state before trying again.
 */
function describeLxdFailure(
  error: unknown,
  key: InstanceKey,
  action: InstanceAction,
  progress: { started: boolean },
): unknown {
  const where = `instance "${key.name}" in project "${key.project}" on host "${key.host}"`;

  if (error instanceof ConsoleError && error.code === "outcome_unknown") {
    return new ConsoleError(
      "outcome_unknown",
      `The ${action} of ${where} may or may not have happened, because the ` +
        `connection to LXD broke while LXD was working on it. ${error.message} ` +
        "Check the instance's state before you try again.",
      { cause: error },
    );
  }
  if (progress.started && error instanceof ConsoleError && error.code === "timeout") {
    return new ConsoleError(
      "timeout",
      `The ${action} of ${where} did not finish in time, so it may or may not ` +
        `have happened yet. ${error.message} Check the instance's state before ` +
        "you try again.",
      { cause: error },
    );
  }
  if (!(error instanceof LxdError)) return error;

  if (error.status === 404) {
    return new ConsoleError("not_found", `Cannot ${action} ${where}: it does not exist.`, {
      cause: error,
    });
  }
  return new ConsoleError(
    "lxd_error",
    `Cannot ${action} ${where}. ${describeLxdMessage(error.lxdMessage)}`,
    { cause: error },
  );
}
