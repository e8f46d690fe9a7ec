import { ConsoleError } from "@/lib/errors";

import { lxdPath, type LxdClient } from "./client";
import { LxdError } from "./errors";
import { LxdStatusCode, type LxdOperation } from "./types";

export interface WaitForOperationOptions {
  /** How long to wait for the operation to finish. */
  timeoutMs: number;
}

// Extra time the HTTP request gets beyond the requested wait, so LXD's
// response arrives before the client gives up on the request.
const REQUEST_MARGIN_MS = 10_000;

/**
 * Waits for an operation to finish with GET /1.0/operations/ID/wait and
 * returns its final state. Throws LxdError with the operation's `err` text
 * when it fails or is cancelled. Throws ConsoleError("timeout") when it is
 * still running after `timeoutMs`, and the operation keeps running then.
 * Throws ConsoleError("outcome_unknown") when the connection to LXD is lost
 * or LXD stops responding during the wait, because the operation may or
 * may not have finished.
 */
export async function waitForOperation(
  client: LxdClient,
  operation: LxdOperation | string,
  options: WaitForOperationOptions,
): Promise<LxdOperation> {
  const id = typeof operation === "string" ? operation : operation.id;
  const path = lxdPath`/1.0/operations/${id}/wait`;
  const timeoutSeconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  const startedAt = Date.now();

  let final: LxdOperation;
  try {
    const result = await client.requestSync<LxdOperation>("GET", path, {
      query: { timeout: timeoutSeconds },
      timeoutMs: timeoutSeconds * 1000 + REQUEST_MARGIN_MS,
    });
    final = result.metadata;
  } catch (error) {
    // LXD releases after 5.0 return an error response instead of the
    // operation when the wait runs out or the operation fails. A deadline
    // error means the wait ran out.
    if (
      error instanceof LxdError &&
      /deadline exceeded/i.test(error.lxdMessage) &&
      Date.now() - startedAt >= timeoutSeconds * 1000
    ) {
      throw operationTimeout(client, id, timeoutSeconds);
    }
    if (error instanceof LxdError) {
      throw new LxdError({
        status: error.status,
        lxdMessage: error.lxdMessage,
        method: error.method,
        path: error.path,
        operationId: id,
      });
    }
    if (isConnectionLoss(error)) {
      throw new ConsoleError(
        "outcome_unknown",
        `Lost track of operation ${id} on ${client.description}. ` +
          `${error.message} LXD may or may not have completed the operation.`,
        { cause: error },
      );
    }
    throw error;
  }

  return checkFinalState(client, final, path, timeoutSeconds);
}

/**
 * Asks LXD to cancel an operation with DELETE /1.0/operations/ID. LXD
 * rejects operations that cannot be cancelled (`may_cancel` false) with an
 * error that is thrown as LxdError.
 */
export async function cancelOperation(
  client: LxdClient,
  operation: LxdOperation | string,
): Promise<void> {
  const id = typeof operation === "string" ? operation : operation.id;
  await client.requestSync<unknown>("DELETE", lxdPath`/1.0/operations/${id}`);
}

/** Returns the current state of an operation. */
export async function getOperation(
  client: LxdClient,
  id: string,
): Promise<LxdOperation> {
  const result = await client.requestSync<LxdOperation>(
    "GET",
    lxdPath`/1.0/operations/${id}`,
  );
  return result.metadata;
}

function isConnectionLoss(error: unknown): error is ConsoleError {
  return (
    error instanceof ConsoleError &&
    (error.code === "host_unreachable" || error.code === "timeout")
  );
}

function checkFinalState(
  client: LxdClient,
  operation: LxdOperation,
  path: string,
  timeoutSeconds: number,
): LxdOperation {
  switch (operation.status_code) {
    case LxdStatusCode.Success:
      return operation;
    case LxdStatusCode.Failure:
    case LxdStatusCode.Cancelled:
      throw new LxdError({
        status: operation.status_code,
        lxdMessage:
          operation.err !== ""
            ? operation.err
            : `Operation ${operation.description} ended with status ${operation.status}`,
        method: "GET",
        path,
        operationId: operation.id,
      });
    default:
      // LXD 5.0 returns the operation, still running, when the wait runs
      // out of time.
      throw operationTimeout(client, operation.id, timeoutSeconds);
  }
}

function operationTimeout(
  client: LxdClient,
  id: string,
  timeoutSeconds: number,
): ConsoleError {
  return new ConsoleError(
    "timeout",
    `Operation ${id} on ${client.description} did not finish within ${timeoutSeconds} s. It keeps running and may still complete.`,
  );
}
