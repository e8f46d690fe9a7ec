import { z } from "zod";

import type { Db } from "@/lib/db/client";
import { getClient, getHost } from "@/lib/hosts/registry";
import { getInstanceState, type LxdDevice, type LxdInstance } from "@/lib/lxd";
import type { LxdInstancePut } from "@/lib/lxd/instance-writes";
import { parseInput } from "@/lib/validation";

import {
  applyConfigChange,
  describeLxdFailure,
  lxdValueSchema,
  readInstance,
  type Actor,
  type ConfigDiff,
} from "./config-change";
import { LIMIT_FORMATS, LIMIT_KEYS, ROOT_SIZE_KEY, type LimitKey } from "./limit-keys";
import type { InstanceKey } from "./types";

export { LIMIT_FORMATS, LIMIT_KEYS, ROOT_SIZE_KEY, type LimitKey } from "./limit-keys";

const limitValueSchemas = Object.fromEntries(
  LIMIT_KEYS.map((key) => {
    const format = LIMIT_FORMATS[key];
    return [key, lxdValueSchema(key, format.check, format.acceptedForms).optional()];
  }),
) as Record<LimitKey, z.ZodOptional<ReturnType<typeof lxdValueSchema>>>;

/**
 * Limit values to apply: a key set to "" is unset, a key left out stays as
 * it is. Unknown keys are rejected.
 */
export const limitValuesSchema = z.strictObject(limitValueSchemas);

export type LimitValues = z.infer<typeof limitValuesSchema>;

/** One limit as the page shows it. */
export interface LimitSetting {
  /** Value set on the instance itself, or null. */
  own: string | null;
  /** Value in effect, from the instance or one of its profiles, or null when unlimited. */
  effective: string | null;
}

/** Current usage beside the limits. A null field is unknown or the instance is not running. */
export interface LimitUsage {
  cpuNs: number | null;
  memoryBytes: number | null;
  swapBytes: number | null;
  processes: number | null;
  rootDiskBytes: number | null;
}

export interface LimitsView {
  /** ETag of the instance, to send back with a change. */
  etag: string | null;
  status: string;
  limits: Record<LimitKey, LimitSetting>;
  usage: LimitUsage;
}

/** Reads an instance's limits, its ETag and its current usage. */
export async function readLimits(key: InstanceKey): Promise<LimitsView> {
  getHost(key.host);
  const client = getClient(key.host);
  const { instance, etag } = await readInstance(client, key);
  const state =
    instance.state ??
    (await getInstanceState(client, key).catch((error: unknown) => {
      throw describeLxdFailure(error, key, "read");
    }));

  const running = state.pid > 0;
  return {
    etag,
    status: instance.status,
    limits: currentLimits(instance),
    usage: {
      cpuNs: running ? state.cpu.usage : null,
      memoryBytes: running ? state.memory.usage : null,
      swapBytes: running ? state.memory.swap_usage : null,
      processes: running && state.processes >= 0 ? state.processes : null,
      rootDiskBytes: state.disk?.root?.usage ?? null,
    },
  };
}

/** Returns each limit as set on the instance and as in effect. */
export function currentLimits(instance: LxdInstance): Record<LimitKey, LimitSetting> {
  const rootName = rootDeviceName(instance);
  const entries = LIMIT_KEYS.map((key): [LimitKey, LimitSetting] => {
    if (key === ROOT_SIZE_KEY) {
      const own = rootName ? instance.devices[rootName]?.size : undefined;
      const effective = rootName ? instance.expanded_devices?.[rootName]?.size : undefined;
      return [key, { own: own ?? null, effective: effective ?? null }];
    }
    return [
      key,
      {
        own: instance.config[key] ?? null,
        effective: (instance.expanded_config ?? instance.config)[key] ?? null,
      },
    ];
  });
  return Object.fromEntries(entries) as Record<LimitKey, LimitSetting>;
}

export interface UpdateLimitsRequest extends Actor {
  key: InstanceKey;
  /** Raw values from the user, validated inside the audited action. */
  values: unknown;
  etag?: string | null;
  /** Name of the preset the values come from, for the audit row. */
  preset?: string;
}

/**
 * Applies limits to an instance live, with If-Match on the ETag the user
 * loaded. Audited as "instance.limits.update" with the before and after
 * values. A bad value is rejected, and recorded, before LXD is called.
 */
export async function updateLimits(
  db: Db,
  request: UpdateLimitsRequest,
): Promise<ConfigDiff> {
  let values: LimitValues = {};
  return applyConfigChange(db, {
    ...request,
    action: "instance.limits.update",
    requested: { values: request.values, preset: request.preset ?? null },
    validate: () => {
      values = parseInput(limitValuesSchema, request.values);
    },
    edit: (put, instance) => applyLimitValues(put, instance, values),
    // NOTE: LXD 5.0.2 did not pin a running container's CPUs when
    // limits.cpu changed in the same update as limits.memory (seen on the
    // test daemon, cgroup v1), so limits.cpu goes out in an update of its own.
    writeLast: ["limits.cpu"],
  });
}

/** Writes limit values into a PUT body and returns the diff. */
export function applyLimitValues(
  put: LxdInstancePut,
  instance: LxdInstance,
  values: LimitValues,
): ConfigDiff {
  const before = currentLimits(instance);
  const diff: ConfigDiff = { before: {}, after: {} };

  for (const key of LIMIT_KEYS) {
    const value = values[key];
    if (value === undefined) continue;
    const next = value === "" ? null : value;
    if (before[key].own === next) continue;

    if (key === ROOT_SIZE_KEY) setRootSize(put, instance, next);
    else if (next === null) delete put.config[key];
    else put.config[key] = next;

    diff.before[key] = before[key].own;
    diff.after[key] = next;
  }
  return diff;
}

/**
 * Sets or clears the root disk's size. A root disk that comes from a
 * profile is copied into the instance first, as `lxc config device
 * override` does, because a profile device cannot be changed per instance.
 */
function setRootSize(
  put: LxdInstancePut,
  instance: LxdInstance,
  size: string | null,
): void {
  const name = rootDeviceName(instance) ?? "root";
  const own = put.devices[name];
  const inherited: LxdDevice | undefined = instance.expanded_devices?.[name];

  if (size === null) {
    if (own) delete own.size;
    return;
  }
  put.devices[name] = { ...(own ?? inherited ?? { type: "disk", path: "/" }), size };
}

function rootDeviceName(instance: LxdInstance): string | null {
  const devices = instance.expanded_devices ?? instance.devices;
  const entry = Object.entries(devices).find(
    ([, device]) => device.type === "disk" && device.path === "/",
  );
  return entry?.[0] ?? null;
}
