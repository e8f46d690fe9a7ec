import { getClient } from "@/lib/hosts/registry";
import { getInstance, toInstanceSummary, type LxdInstance } from "@/lib/lxd";
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

export async function fetchInstanceDetail(key: InstanceKey): Promise<InstanceDetail> {
  const { instance } = await getInstance(getClient(key.host), key);
  return toInstanceDetail(key.host, instance);
}
