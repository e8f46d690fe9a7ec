import { z } from "zod";

import { runAudited, type AuditContext } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { ConsoleError, describeLxdMessage } from "@/lib/errors";
import { runRecordedOperation, type OperationOwner } from "@/lib/hosts/operations";
import { getClient, getHost } from "@/lib/hosts/registry";
import {
  LxdError,
  getInstance,
  type LxdClient,
  type LxdInstance,
  type LxdOperation,
} from "@/lib/lxd";
import {
  replaceInstance,
  toInstancePut,
  type LxdInstancePut,
} from "@/lib/lxd/instance-writes";

import type { FormatCheck } from "./lxd-formats";
import type { InstanceKey } from "./types";

/** Time allowed for one LXD operation of the toolbox to finish. */
const OPERATION_TIMEOUT_MS = 120_000;

/** The signed-in user acting, and where the request came from. */
export interface Actor {
  actor: { id: string; email: string };
  sourceAddress?: string;
}

/**
 * Builds a zod schema for one LXD config value. A bad value fails with a
 * sentence that quotes it, names the key, gives the reason and lists the accepted
 * forms. The empty string is valid and means "unset".
 */
export function lxdValueSchema(
  key: string,
  check: FormatCheck,
  acceptedForms: string,
) {
  return z.string().superRefine((value, context) => {
    if (value === "") return;
    const reason = check(value);
    if (reason !== null) {
      context.addIssue({
        code: "custom",
        message:
          `Invalid value ${JSON.stringify(value)} for ${key}: ${reason}. ` +
          `Accepted forms: ${acceptedForms}.`,
      });
    }
  });
}

/** A config change as an audit row's params record it. */
export interface ConfigDiff {
  before: Record<string, string | null>;
  after: Record<string, string | null>;
}

export interface ConfigChangeRequest extends Actor {
  key: InstanceKey;
  /** Dotted audit action, such as "instance.limits.update". */
  action: string;
  /** Request as the user made it, recorded in the intent row. */
  requested: Record<string, unknown>;
  /**
   * ETag the user's view was loaded with. LXD rejects the change when the
   * instance changed since. Without it the change applies to the current
   * instance.
   */
  etag?: string | null;
  /** Validates the request. It runs inside the audit, so rejections are recorded. */
  validate: () => void;
  /** Changes the PUT body and returns the diff of the keys it changed. */
  edit: (put: LxdInstancePut, instance: LxdInstance) => ConfigDiff;
  /**
   * Config keys that go out in a second PUT of their own when they change
   * together with other keys. When that second PUT fails, the first one
   * stays applied, and the outcome row records the failure.
   */
  writeLast?: readonly string[];
}

/**
 * Applies one config change to an instance with PUT and If-Match, between
 * an intent and an outcome audit row. The outcome row's params carry the
 * before and after values of the changed keys. A rejected or failed change
 * leaves the instance as it was.
 */
export async function applyConfigChange(
  db: Db,
  request: ConfigChangeRequest,
): Promise<ConfigDiff> {
  const { key } = request;
  getHost(key.host);
  // runAudited writes the outcome row from this same object when the action
  // ends, so the diff filled in below reaches the outcome row.
  const params: Record<string, unknown> = {
    ...request.requested,
    etag: request.etag ?? null,
  };

  return runAudited(
    db,
    auditTarget(request, request.action, params),
    async (audit) => {
      request.validate();
      const client = getClient(key.host);
      const { instance, etag } = await readInstance(client, key);

      const put = toInstancePut(instance);
      const diff = request.edit(put, instance);
      params.before = diff.before;
      params.after = diff.after;

      const first = withoutLateKeys(put, instance, diff, request.writeLast ?? []);
      const recording = { db, audit, actor: request.actor, action: request.action };
      await runOperation(client, recording, key, "change", () =>
        replaceInstance(client, key, first ?? put, { etag: request.etag ?? etag }),
      );
      if (first !== null) {
        // The first PUT passed the If-Match check, so this one builds on it.
        const { etag: nextEtag } = await readInstance(client, key);
        await runOperation(client, recording, key, "change", () =>
          replaceInstance(client, key, put, { etag: nextEtag }),
        );
      }
      return diff;
    },
  );
}

/**
 * Returns the PUT body with the `writeLast` keys still at their old values,
 * or null when no such key changes together with another key.
 */
function withoutLateKeys(
  put: LxdInstancePut,
  instance: LxdInstance,
  diff: ConfigDiff,
  writeLast: readonly string[],
): LxdInstancePut | null {
  const changed = Object.keys(diff.after);
  const late = changed.filter((name) => writeLast.includes(name));
  if (late.length === 0 || late.length === changed.length) return null;

  const first: LxdInstancePut = { ...put, config: { ...put.config } };
  for (const name of late) {
    const old = instance.config[name];
    if (old === undefined) delete first.config[name];
    else first.config[name] = old;
  }
  return first;
}

/** Builds an audit target for an action on one instance. */
export function auditTarget(
  request: Actor & { key: InstanceKey },
  action: string,
  params: Record<string, unknown>,
) {
  return {
    actor: request.actor,
    sourceAddress: request.sourceAddress,
    action,
    host: request.key.host,
    project: request.key.project,
    instance: request.key.name,
    params,
  };
}

/** Reads an instance and its ETag, naming the instance when it is missing. */
export async function readInstance(
  client: LxdClient,
  key: InstanceKey,
): Promise<{ instance: LxdInstance; etag: string | null }> {
  try {
    return await getInstance(client, key);
  } catch (error) {
    throw describeLxdFailure(error, key, "read");
  }
}

/** The action an LXD operation belongs to, for the audit rows and operation_history. */
export interface OperationRecording {
  db: Db;
  audit: AuditContext;
  /** The acting user, recorded as the operation's actor. */
  actor: Actor["actor"];
  /** Dotted audit action, such as "instance.snapshot.create". */
  action: string;
}

/**
 * Starts an LXD operation, records its id in the audit context and in
 * operation_history, and waits for it to finish. While it runs, the fleet
 * watcher's operation events carry its progress to the browser and to its
 * operation_history row. Errors are rewritten to name the instance and the
 * verb.
 */
export async function runOperation(
  client: LxdClient,
  recording: OperationRecording,
  key: InstanceKey,
  verb: string,
  start: () => Promise<LxdOperation>,
): Promise<LxdOperation> {
  const owner: OperationOwner = {
    db: recording.db,
    actor: recording.actor.email,
    correlationId: recording.audit.correlationId,
    action: recording.action,
    project: key.project,
    instance: key.name,
  };
  try {
    return await runRecordedOperation(owner, key.host, start, {
      client,
      timeoutMs: OPERATION_TIMEOUT_MS,
      onStarted: (operation) => recording.audit.setOperationId(operation.id),
    });
  } catch (error) {
    throw describeLxdFailure(error, key, verb);
  }
}

/**
 * Rewrites LXD's errors into messages that name the instance. A 412 from
 * LXD means the ETag no longer matches: someone changed the instance since
 * the user loaded it.
 */
export function describeLxdFailure(
  error: unknown,
  key: InstanceKey,
  verb: string,
): unknown {
  if (!(error instanceof LxdError)) return error;
  const where = `instance "${key.name}" in project "${key.project}" on host "${key.host}"`;

  if (error.status === 412) {
    return new ConsoleError(
      "conflict",
      `The configuration of ${where} changed after you loaded it, so your ` +
        "change was not saved. Reload to see the current values, then " +
        "apply your change again.",
      { cause: error },
    );
  }
  if (error.status === 404 && error.operationId === null) {
    return new ConsoleError(
      "not_found",
      `Cannot ${verb} ${where}: it does not exist.`,
      { cause: error },
    );
  }
  return new ConsoleError(
    error.operationId === null && error.status === 400 ? "invalid_input" : "lxd_error",
    `Cannot ${verb} ${where}. ${describeLxdMessage(error.lxdMessage)}`,
    { cause: error },
  );
}

/** Returns the entries of `next` whose value differs from `current`. */
export function diffConfig(
  current: Record<string, string>,
  next: Record<string, string>,
  keys: readonly string[],
): ConfigDiff {
  const diff: ConfigDiff = { before: {}, after: {} };
  for (const name of keys) {
    const before = current[name] ?? null;
    const after = next[name] ?? null;
    if (before !== after) {
      diff.before[name] = before;
      diff.after[name] = after;
    }
  }
  return diff;
}
