"use client";

import { useState } from "react";
import { useCurrentUser } from "@/components/current-user";
import { VncViewer } from "@/components/vnc/vnc-viewer";
import type { InstanceKey, InstanceSummary } from "@/lib/instances/types";
import { describeNoLiveView, noLiveViewReason } from "@/lib/vnc/live-view";
import { newViewId } from "@/lib/vnc/view-id";

/**
 * Renders the instance page's live view: the sandbox's screen while it is a
 * running browser sandbox, otherwise a panel saying why there is none.
 */
export function LiveView({
  instanceKey,
  summary,
  canOperate,
}: {
  instanceKey: InstanceKey;
  summary: InstanceSummary;
  canOperate: boolean;
}) {
  const user = useCurrentUser();
  const reason = noLiveViewReason(summary);

  if (!user.canViewSessions) {
    return (
      <NoLiveViewPanel
        title="No live view: your role does not allow watching sandbox screens"
        detail="An admin can change your role."
      />
    );
  }
  if (reason) {
    const message = describeNoLiveView(reason, canOperate);
    return <NoLiveViewPanel title={message.title} detail={message.detail} />;
  }
  // Keyed by the instance, so a new sandbox gets a new view id.
  return <RunningLiveView key={`${instanceKey.host}/${instanceKey.project}/${instanceKey.name}`} instanceKey={instanceKey} />;
}

function RunningLiveView({ instanceKey }: { instanceKey: InstanceKey }) {
  const [viewId] = useState(newViewId);
  return (
    <section aria-label="Live view">
      <VncViewer instanceKey={instanceKey} mode="full" viewId={viewId} />
    </section>
  );
}

function NoLiveViewPanel({ title, detail }: { title: string; detail: string }) {
  return (
    <section
      aria-label="Live view"
      data-testid="no-live-view"
      className="flex items-start gap-3 rounded-md border border-slate-200 bg-white px-4 py-3"
    >
      <span aria-hidden className="mt-0.5 grid size-8 shrink-0 place-items-center rounded bg-slate-100 text-slate-400">
        <svg viewBox="0 0 20 20" fill="none" stroke="currentColor" strokeWidth="1.5" className="size-5">
          <rect x="2.5" y="3.5" width="15" height="10" rx="1" />
          <path d="M7 16.5h6M10 13.5v3M4 5l12 7" />
        </svg>
      </span>
      <div>
        <h2 className="font-semibold">{title}</h2>
        <p className="text-slate-600">{detail}</p>
      </div>
    </section>
  );
}
