"use client";

import Link from "next/link";
import { useEffect, useId, useRef, useState } from "react";
import { instancePath } from "@/components/instances/paths";
import { VncViewer } from "@/components/vnc/vnc-viewer";
import type { InstanceKey, InstanceSummary } from "@/lib/instances/types";
import { formatUptime } from "@/lib/instances/uptime";
import { describeNoLiveView, noLiveViewReason } from "@/lib/vnc/live-view";
import { newViewId } from "@/lib/vnc/view-id";

/**
 * Shows one sandbox's full view over the sessions wall, in a modal dialog.
 * The wall stays mounted underneath, so its tiles keep their connections
 * and show their screens again as soon as the dialog closes.
 *
 * `instance` is the fleet's entry for `viewKey`, or null when the fleet has
 * none or the parameter names no instance. `preview` is the tile's last picture, shown until the first frame.
 */
export function SessionViewDialog({
  viewParam,
  viewKey,
  instance,
  preview,
  now,
  onClose,
}: {
  /** The `view` parameter of the address, not yet split into parts. */
  viewParam: string;
  /** The instance it names, or null when it is not host/project/name. */
  viewKey: InstanceKey | null;
  instance: InstanceSummary | null;
  preview: string | null;
  now: number;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      data-testid="session-view-dialog"
      // Escape fires "cancel"; the wall closes the dialog by changing the URL.
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      className="m-auto w-[min(96vw,100rem)] max-w-none rounded-lg border border-slate-200 bg-white p-0 shadow-xl backdrop:bg-slate-900/60"
    >
      <div className="space-y-3 p-4">
        <header className="flex flex-wrap items-center gap-x-4 gap-y-1">
          <div className="min-w-0">
            <h2 id={titleId} className="truncate text-lg font-semibold tracking-tight">
              {viewKey?.name ?? "Live view"}
            </h2>
            {viewKey && (
              <p className="truncate text-xs text-slate-500">
                {viewKey.host}
                {viewKey.project !== "default" && ` / ${viewKey.project}`}
                {instance && instance.status === "Running" && ` · up ${formatUptime(instance.lastUsedAt, now)}`}
              </p>
            )}
          </div>
          <div className="ml-auto flex items-center gap-2">
            {viewKey && instance && (
              <Link
                href={instancePath(viewKey)}
                className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50"
              >
                Instance page
              </Link>
            )}
            <button
              type="button"
              onClick={onClose}
              className="rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700"
            >
              Back to the wall
            </button>
          </div>
        </header>
        {viewKey ? (
          <DialogBody viewKey={viewKey} instance={instance} preview={preview} />
        ) : (
          <Notice
            title="No live view: the address names no sandbox"
            detail={`Its view parameter is ${JSON.stringify(viewParam.slice(0, 200))}. A view is named host/project/name, such as local/default/demo-browser; open one from a tile on the wall.`}
          />
        )}
      </div>
    </dialog>
  );
}

function DialogBody({
  viewKey,
  instance,
  preview,
}: {
  viewKey: InstanceKey;
  instance: InstanceSummary | null;
  preview: string | null;
}) {
  if (!instance) {
    return (
      <Notice
        title={`No live view: the console knows no instance ${viewKey.name} on host ${viewKey.host}`}
        detail="It may have been deleted or renamed, or its host is unreachable. The wall lists every running browser sandbox it can reach."
      />
    );
  }
  const reason = noLiveViewReason(instance);
  if (reason) {
    const message = describeNoLiveView(reason, false);
    return (
      <Notice
        title={message.title}
        detail={`${message.detail} Its instance page has the actions that change this.`}
      />
    );
  }
  // Keyed by the instance, so another sandbox gets another view id.
  return (
    <RunningView
      key={`${viewKey.host}/${viewKey.project}/${viewKey.name}`}
      viewKey={viewKey}
      preview={preview}
    />
  );
}

function RunningView({ viewKey, preview }: { viewKey: InstanceKey; preview: string | null }) {
  const [viewId] = useState(newViewId);
  return <VncViewer instanceKey={viewKey} mode="full" viewId={viewId} preview={preview} inDialog />;
}

function Notice({ title, detail }: { title: string; detail: string }) {
  return (
    <section
      aria-label="Live view"
      data-testid="no-live-view"
      className="rounded-md border border-slate-200 bg-slate-50 px-4 py-3"
    >
      <h3 className="font-semibold [overflow-wrap:anywhere]">{title}</h3>
      <p className="text-slate-600 [overflow-wrap:anywhere]">{detail}</p>
    </section>
  );
}
