"use client";

import type { InstanceKey, InstanceStatus } from "@/lib/instances/types";

import { DangerZone } from "./danger-zone";
import { LimitsPanel } from "./limits-panel";
import { PresetsPanel } from "./presets-panel";
import { SnapshotsPanel } from "./snapshots-panel";
import { useToolbox } from "./toolbox-ui";

/** Renders the admin panels of the instance page: snapshots, limits, presets and delete. */
export function InstanceToolbox({
  instanceKey,
  status,
  canOperate,
}: {
  instanceKey: InstanceKey;
  status: InstanceStatus;
  canOperate: boolean;
}) {
  const toolbox = useToolbox(instanceKey, status);

  if (toolbox.error) {
    return (
      <div role="alert" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-red-800">
        Loading snapshots and limits failed: {toolbox.error.message}
      </div>
    );
  }
  if (!toolbox.data) return <p className="text-slate-500">Loading snapshots and limits…</p>;

  const { snapshots, limits, presets } = toolbox.data;
  return (
    <div className="grid gap-5 xl:grid-cols-2">
      <SnapshotsPanel instanceKey={instanceKey} view={snapshots} canOperate={canOperate} />
      <LimitsPanel instanceKey={instanceKey} view={limits} presets={presets} canOperate={canOperate} />
      <PresetsPanel instanceKey={instanceKey} presets={presets} canOperate={canOperate} />
      <DangerZone instanceKey={instanceKey} status={status} canOperate={canOperate} />
    </div>
  );
}
