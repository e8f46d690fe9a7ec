import { ConsoleError } from "@/lib/errors";
import { getClient } from "@/lib/hosts/registry";
import {
  LxdError,
  getInstance,
  projectExists,
  toInstanceSummary,
  type LxdClient,
  type LxdInstance,
} from "@/lib/lxd";
import type { InstanceDetail, InstanceKey } from "./types";

/** Reshapes LXD's full instance (recursion=2: state and snapshots) for the page. */
export function toInstanceDetail(host: string, instance: LxdInstance): InstanceDetail {
  const snapshots = (instance.snapshots ?? []).map((snapshot) => ({
    name: snapshot.name,
    createdAt: snapshot.created_at,
    expiresAt:
      snapshot.expires_at && !snapshot.expires_at.startsWith("0001-")
        ? snapshot.expires_at
        : null,
    stateful: snapshot.stateful,
  }));
  snapshots.sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  return {
    summary: toInstanceSummary(host, instance),
    architecture: instance.architecture,
    ephemeral: instance.ephemeral,
    config: instance.config,
    expandedConfig: instance.expanded_config ?? instance.config,
    expandedDevices: instance.expanded_devices ?? instance.devices,
    snapshots,
    pid: instance.state?.pid && instance.state.pid > 0 ? instance.state.pid : null,
  };
}

/**
 * Fetches one instance for the page and the API. Throws ConsoleError
 * "not_found" that names the missing project or instance.
 */
export async function fetchInstanceDetail(key: InstanceKey): Promise<InstanceDetail> {
  const client = getClient(key.host);
  try {
    const { instance } = await getInstance(client, key);
    return toInstanceDetail(key.host, instance);
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) {
      throw await describeMissing(client, key, error);
    }
    throw error;
  }
}

async function describeMissing(
  client: LxdClient,
  key: InstanceKey,
  cause: LxdError,
): Promise<ConsoleError> {
  if (!(await projectExists(client, key.project))) {
    return new ConsoleError(
      "not_found",
      `Project ${JSON.stringify(key.project)} does not exist on host "${key.host}".`,
      { cause },
    );
  }
  return new ConsoleError(
    "not_found",
    `Instance ${JSON.stringify(key.name)} does not exist in project ` +
      `${JSON.stringify(key.project)} on host "${key.host}".`,
    { cause },
  );
}
