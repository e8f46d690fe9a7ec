"use client";

import { useState } from "react";

import { CloneDialog } from "@/components/instances/clone-dialog";
import { useHydrated } from "@/components/use-hydrated";
import { MigrateDialog } from "@/components/instances/migrate-dialog";
import type { InstanceKey, SnapshotSummary } from "@/lib/instances/types";

/** Clone and Migrate buttons of the instance page, with their dialogs. */
export function MoveButtons({
  instanceKey,
  snapshots,
  canOperate,
}: {
  instanceKey: InstanceKey;
  snapshots: SnapshotSummary[];
  canOperate: boolean;
}) {
  const [open, setOpen] = useState<"clone" | "migrate" | null>(null);
  const hydrated = useHydrated();
  const close = () => setOpen(null);
  const title = canOperate ? undefined : "Your role cannot copy or move instances.";

  return (
    <div className="flex gap-2">
      <button
        type="button"
        onClick={() => setOpen("clone")}
        disabled={!canOperate || !hydrated}
        title={title}
        className="rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50 disabled:opacity-50"
      >
        Clone
      </button>
      <button
        type="button"
        onClick={() => setOpen("migrate")}
        disabled={!canOperate || !hydrated}
        title={title}
        className="rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50 disabled:opacity-50"
      >
        Migrate
      </button>
      {open === "clone" && (
        <CloneDialog instanceKey={instanceKey} snapshots={snapshots} open onClose={close} />
      )}
      {open === "migrate" && <MigrateDialog instanceKey={instanceKey} open onClose={close} />}
    </div>
  );
}
