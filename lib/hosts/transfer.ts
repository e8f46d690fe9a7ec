import { ConsoleError } from "@/lib/errors";
import {
  LxdError,
  cancelOperation,
  getInstance,
  getServerInfo,
  waitForOperation,
  type LxdOperation,
  type LxdServer,
} from "@/lib/lxd";
import {
  createInstanceFromMigration,
  migrationSecrets,
  startMigrationSource,
  startSnapshotMigrationSource,
  type InstanceDefinition,
} from "@/lib/lxd/migration";
import { deleteInstance } from "@/lib/lxd/instance-writes";
import { log } from "@/lib/log";

import {
  recordOperationOutcome,
  recordStartedOperation,
  runRecordedOperation,
  type OperationOwner,
} from "./operations";
import { getClient, getHost } from "./registry";

/** How long one transfer between hosts may take. */
export const TRANSFER_TIMEOUT_MS = 30 * 60_000;
/** How long the source operation may take to finish after the target's. */
const SOURCE_SETTLE_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 120_000;

export interface InstanceLocation {
  host: string;
  project: string;
  name: string;
}

export interface TransferRequest {
  owner: OperationOwner;
  source: InstanceLocation & { snapshot?: string };
  target: InstanceLocation;
  definition: InstanceDefinition;
  live: boolean;
  instanceOnly: boolean;
  baseImage?: string;
  /** Called with each LXD operation as it starts, for the audit row. */
  onOperation?: (host: string, operation: LxdOperation) => void;
}

const transferLog = log.child({ component: "transfer" });

/**
 * Copies an instance (or one snapshot of it) to another host with LXD's
 * migration API: the source starts a migration operation, and the target
 * creates the instance pulling from it with the secrets and the source's
 * certificate. On failure the source operation is cancelled and whatever
 * the target made is deleted, then the error is thrown, naming the step.
 */
export async function transferAcrossHosts(request: TransferRequest): Promise<void> {
  const { owner, source, target } = request;
  const sourceClient = getClient(source.host);
  const targetClient = getClient(target.host);
  const { url: sourceUrl, certificate } = await sourceHttpsAddress(source.host);
  await assertProfilesExist(target, request.definition.profiles);

  const sourceRef = { project: source.project, name: source.name };
  let sourceOperation: LxdOperation;
  try {
    sourceOperation = source.snapshot
      ? await startSnapshotMigrationSource(sourceClient, sourceRef, source.snapshot, target.name)
      : await startMigrationSource(sourceClient, sourceRef, {
          live: request.live,
          instanceOnly: request.instanceOnly,
        });
  } catch (error) {
    // The source refused before sending anything, so there is nothing to undo.
    throw transferError(request, error, null, null);
  }
  request.onOperation?.(source.host, sourceOperation);
  await recordStartedOperation(owner, source.host, sourceOperation);

  try {
    await runRecordedOperation(
      owner,
      target.host,
      () =>
        createInstanceFromMigration(targetClient, {
          project: target.project,
          name: target.name,
          definition: request.definition,
          operationUrl: `${sourceUrl}/1.0/operations/${encodeURIComponent(sourceOperation.id)}`,
          sourceCertificate: certificate,
          secrets: migrationSecrets(sourceOperation),
          live: request.live,
          instanceOnly: request.instanceOnly,
          baseImage: request.baseImage,
        }),
      {
        timeoutMs: TRANSFER_TIMEOUT_MS,
        onStarted: (operation) => request.onOperation?.(target.host, operation),
      },
    );
    await waitForOperation(sourceClient, sourceOperation, {
      timeoutMs: SOURCE_SETTLE_TIMEOUT_MS,
    });
    await recordOperationOutcome(owner.db, source.host, sourceOperation.id, {
      status: "success",
      error: null,
    });
  } catch (error) {
    const sourceError = await settleSourceAfterFailure(
      request,
      sourceOperation,
    );
    let cleanupError: unknown = null;
    try {
      await deleteIfPresent(owner, target);
    } catch (deleteError) {
      cleanupError = deleteError;
    }
    throw transferError(request, error, sourceError, cleanupError);
  }
}

/**
 * Cancels the source operation if it still runs, waits for its end and
 * returns its error text, which often names the real cause (such as the
 * CRIU dump failure) while the target only reports a broken connection.
 */
async function settleSourceAfterFailure(
  request: TransferRequest,
  operation: LxdOperation,
): Promise<string | null> {
  const { owner, source } = request;
  const client = getClient(source.host);
  await cancelOperation(client, operation).catch(() => undefined);

  try {
    await waitForOperation(client, operation, { timeoutMs: CLEANUP_TIMEOUT_MS });
    await recordOperationOutcome(owner.db, source.host, operation.id, {
      status: "success",
      error: null,
    });
    return null;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const cancelled = error instanceof LxdError && error.status === 401;
    await recordOperationOutcome(owner.db, source.host, operation.id, {
      status: cancelled ? "cancelled" : "failure",
      error: text,
    });
    // The console's own cancel explains nothing, so only real failures count.
    if (cancelled || !(error instanceof LxdError)) return null;
    return error.lxdMessage;
  }
}

/**
 * Deletes the instance at `location` if it exists, so a failed copy leaves
 * nothing behind. A failure to delete is logged and named in the thrown
 * error by the caller's message, never hidden.
 */
export async function deleteIfPresent(
  owner: OperationOwner,
  location: InstanceLocation,
): Promise<void> {
  const client = getClient(location.host);
  const ref = { project: location.project, name: location.name };
  try {
    await getInstance(client, ref);
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return;
    throw error;
  }

  transferLog.warn(
    { host: location.host, project: location.project, instance: location.name },
    "deleting the partial copy a failed transfer left",
  );
  await runRecordedOperation(
    { ...owner, action: `${owner.action}.cleanup` },
    location.host,
    () => deleteInstance(client, ref),
    { timeoutMs: CLEANUP_TIMEOUT_MS },
  );
}

function transferError(
  request: TransferRequest,
  error: unknown,
  sourceError: string | null,
  cleanupError: unknown,
): ConsoleError {
  const { source, target } = request;
  const what = source.snapshot
    ? `snapshot "${source.snapshot}" of "${source.name}"`
    : `"${source.name}"`;
  const where = `from host "${source.host}" to "${target.name}" on host "${target.host}"`;
  const targetText = error instanceof LxdError ? error.lxdMessage : (error as Error).message;
  const reasons = [targetText];
  if (sourceError && sourceError !== targetText) reasons.push(`The source reported: ${sourceError}`);

  const cleanup =
    cleanupError === null
      ? `Nothing was left on host "${target.host}".`
      : `Deleting the partial copy "${target.name}" on host "${target.host}" ` +
        `failed too (${(cleanupError as Error).message}), so delete it by hand.`;

  return new ConsoleError(
    error instanceof ConsoleError ? error.code : "lxd_error",
    `Copying ${what} ${where} failed. ${reasons.map(asSentence).join(" ")} ${cleanup}`,
    { cause: error },
  );
}

function asSentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * Checks that the target has every profile the instance uses, because LXD
 * reports a missing one only after the source has started the migration.
 */
async function assertProfilesExist(
  target: InstanceLocation,
  profiles: string[],
): Promise<void> {
  const result = await getClient(target.host).requestSync<string[]>(
    "GET",
    "/1.0/profiles",
    { query: { project: target.project } },
  );
  const present = new Set(
    result.metadata.map((url) => decodeURIComponent(url.split("/").pop() ?? "")),
  );
  const missing = profiles.filter((profile) => !present.has(profile));
  if (missing.length === 0) return;

  throw new ConsoleError(
    "invalid_input",
    `Host "${target.host}" has no profile ${missing.map((name) => `"${name}"`).join(", ")} ` +
      `in project "${target.project}", which the instance uses. Create ` +
      `${missing.length === 1 ? "it" : "them"} there first, with the same devices and configuration.`,
  );
}

/**
 * Returns the https://ADDRESS:PORT other servers reach a host at, with its
 * certificate. A host reached over HTTPS uses that URL. A unix socket host
 * needs core.https_address, whose first address is taken.
 */
async function sourceHttpsAddress(
  hostId: string,
): Promise<{ url: string; certificate: string }> {
  const host = getHost(hostId);
  const client = getClient(hostId);
  const info = await getServerInfo(client);
  if (host.endpoint.kind === "https") {
    return { url: new URL(host.endpoint.url).origin, certificate: info.certificate };
  }

  const server = await client.requestSync<LxdServer>("GET", "/1.0");
  const address = server.metadata.environment?.addresses[0];
  if (!address) {
    throw new ConsoleError(
      "invalid_input",
      `Host "${hostId}" has no HTTPS address, so other servers cannot pull ` +
        "from it. Set core.https_address on it, for example to 0.0.0.0:8443.",
    );
  }
  return { url: `https://${address}`, certificate: info.certificate };
}
