"use client";

import Link from "next/link";
import { useRef, useState, type MouseEvent } from "react";
import { instancePath } from "@/components/instances/paths";
import { useOnScreen } from "@/components/sessions/use-on-screen";
import type { TileRendering } from "@/components/vnc/tile-viewer";
import { VncViewer } from "@/components/vnc/vnc-viewer";
import type { InstanceSummary } from "@/lib/instances/types";
import { formatUptime } from "@/lib/instances/uptime";
import { describeController } from "@/lib/vnc/session-list";
import type { VncSessionState } from "@/lib/vnc/types";
import { newViewId } from "@/lib/vnc/view-id";

/**
 * Renders one sandbox on the sessions wall: a live, view-only tile that
 * connects only while near the viewport and links to the full view.
 */
export function SessionTile({
  instance,
  session,
  readerUserId,
  now,
  tileRendering,
  onOpen,
}: {
  instance: InstanceSummary;
  session: VncSessionState | null;
  readerUserId: string;
  now: number;
  tileRendering?: TileRendering;
  /**
   * Opens the full view over the wall, with the tile's last picture as a
   * preview (an image URL, or null before the first one).
   */
  onOpen: (instance: InstanceSummary, preview: string | null) => void;
}) {
  const root = useRef<HTMLElement>(null);
  const onScreen = useOnScreen(root);
  const [viewId] = useState(newViewId);
  const controller = session?.controller ?? null;
  const href = instancePath(instance);
  // A plain click opens the full view over the wall. A click with a
  // modifier or another button keeps the link's own behaviour, such as a
  // new tab with the instance page.
  const open = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    onOpen(instance, tilePicture(root.current));
  };

  return (
    <article
      ref={root}
      data-testid={`session-tile-${instance.host}-${instance.project}-${instance.name}`}
      className="group overflow-hidden rounded-md border border-slate-200 bg-white shadow-sm hover:border-sky-400"
    >
      <div className="relative aspect-[16/10] bg-slate-950">
        <VncViewer
          instanceKey={instance}
          mode="tile"
          viewId={viewId}
          enabled={onScreen}
          tileRendering={tileRendering}
        />
        {/* Above the canvas, so a click opens the full view instead of reaching noVNC. */}
        <Link
          href={href}
          onClick={open}
          aria-label={`Open the live view of ${instance.name}`}
          className="absolute inset-0 z-10 focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-sky-500"
        />
      </div>
      <div className="flex items-start justify-between gap-2 px-3 py-2">
        <div className="min-w-0">
          <Link href={href} onClick={open} className="block truncate font-medium text-sky-700 hover:underline">
            {instance.name}
          </Link>
          <p className="truncate text-xs text-slate-500">
            {instance.host}
            {instance.project !== "default" && ` / ${instance.project}`} · up{" "}
            {formatUptime(instance.lastUsedAt, now)}
          </p>
        </div>
        <span
          data-testid="session-controller"
          className={`shrink-0 rounded px-1.5 py-0.5 text-[11px] font-medium ${
            controller ? "bg-amber-50 text-amber-800" : "bg-slate-100 text-slate-500"
          }`}
        >
          {controller ? describeController(controller, { userId: readerUserId }) : "View-only"}
        </span>
      </div>
    </article>
  );
}

/**
 * Returns the tile's picture as a JPEG data URL, or null while it has none.
 * JPEG, because with the scaled-canvas rendering the canvas is the whole
 * remote screen, and PNG takes several times longer to encode.
 */
function tilePicture(tile: HTMLElement | null): string | null {
  const canvas = tile?.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
  if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
  try {
    return canvas.toDataURL("image/jpeg", 0.8);
  } catch {
    return null;
  }
}
