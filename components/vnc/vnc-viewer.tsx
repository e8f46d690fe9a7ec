"use client";

import type RFB from "@novnc/novnc";
import { useRef, type RefObject } from "react";
import { ConnectionStatus } from "@/components/vnc/connection-status";
import { ClipboardForm, ControlBar } from "@/components/vnc/control-bar";
import { TileViewer, type TileRendering } from "@/components/vnc/tile-viewer";
import { ToolbarButton } from "@/components/vnc/toolbar-button";
import { useFullscreen } from "@/components/vnc/use-fullscreen";
import { useRfbConnection, type VncConnectionState } from "@/components/vnc/use-rfb-connection";
import { useVncSession } from "@/components/vnc/use-vnc-sessions";
import type { InstanceKey } from "@/lib/instances/types";
import type { VncViewMode } from "@/lib/vnc/types";
import { screenshotFileName } from "@/lib/vnc/view-id";

export interface VncViewerProps {
  instanceKey: InstanceKey;
  mode: VncViewMode;
  /** Random id of this mounted viewer, kept across its reconnects. */
  viewId: string;
  /** Whether to connect. Tiles pass false while off screen. */
  enabled?: boolean;
  /** The rendering of a tile's screen. The full view ignores it. */
  tileRendering?: TileRendering;
  /**
   * Image URL of an earlier picture of the screen, such as the wall tile's,
   * that the full view shows dimmed until it is connected. Tiles ignore it.
   */
  preview?: string | null;
  /**
   * Whether the full view sits in a dialog with a header of its own, which
   * leaves less of the window's height to the screen. Tiles ignore it.
   */
  inDialog?: boolean;
}

/**
 * Shows a browser sandbox's screen with noVNC, scaled to fit. The full view
 * has a toolbar with full screen, screenshot and control; a tile has none
 * and is always view-only.
 */
export function VncViewer(props: VncViewerProps) {
  if (props.mode === "tile") return <TileViewer {...props} rendering={props.tileRendering} />;
  return <FullViewer {...props} />;
}

function FullViewer({
  instanceKey,
  viewId,
  enabled = true,
  preview = null,
  inDialog = false,
}: VncViewerProps) {
  const container = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const session = useVncSession(instanceKey);
  const inControl = session?.controller?.viewId === viewId;
  const { state, client, reconnectNow } = useRfbConnection(screen, {
    instanceKey,
    mode: "full",
    viewId,
    enabled,
    viewOnly: !inControl,
  });
  const fullscreen = useFullscreen(container);
  const connected = state.phase === "connected";

  return (
    <div
      ref={container}
      data-testid="vnc-viewer"
      data-control={inControl ? "control" : "view-only"}
      className={`flex flex-col overflow-hidden bg-slate-950 text-slate-200 ${
        fullscreen.active ? "h-screen w-screen" : "rounded-md border border-slate-800"
      }`}
    >
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-slate-800 bg-slate-900 px-3 py-2">
        <ConnectionStatus state={state} onReconnect={reconnectNow} />
        <span className="text-xs text-slate-400" data-testid="vnc-viewer-count">
          {viewerCountText(session?.viewers.length ?? 0)}
        </span>
        <div className="ml-auto flex items-center gap-2">
          <ToolbarButton
            onClick={() => downloadScreenshot(client, instanceKey.name)}
            disabled={!connected}
            title={connected ? "Download the screen as a PNG" : "Available once connected"}
          >
            Screenshot
          </ToolbarButton>
          {fullscreen.supported && (
            <ToolbarButton onClick={() => void fullscreen.toggle()}>
              {fullscreen.active ? "Exit full screen" : "Full screen"}
            </ToolbarButton>
          )}
        </div>
      </div>

      <ControlBar
        instanceKey={instanceKey}
        viewId={viewId}
        session={session}
        connectionState={state}
        client={client}
      />

      <div
        className={`relative ${
          fullscreen.active
            ? "min-h-0 flex-1"
            : inDialog
              ? "aspect-[16/10] max-h-[calc(100vh-15rem)] w-full"
              : "aspect-[16/10] max-h-[calc(100vh-12rem)] w-full"
        }`}
      >
        <div ref={screen} data-testid="vnc-screen" className="size-full" />
        {!connected && preview && (
          // eslint-disable-next-line @next/next/no-img-element -- a data URL of the tile's canvas
          <img
            src={preview}
            alt=""
            data-testid="vnc-preview"
            className="pointer-events-none absolute inset-0 size-full object-contain opacity-50"
          />
        )}
        {!connected && (
          <p className="pointer-events-none absolute inset-0 grid place-items-center px-6 text-center text-sm text-slate-400">
            {screenPlaceholder(state.phase)}
          </p>
        )}
      </div>

      {inControl && connected && <ClipboardForm client={client} />}
    </div>
  );
}

function screenPlaceholder(phase: VncConnectionState["phase"]): string {
  switch (phase) {
    case "disconnected":
      return "Not connected. Reconnect from the toolbar once the cause is fixed.";
    case "reconnecting":
      return "The screen shows again once the connection is back.";
    default:
      return "Connecting to the sandbox's screen…";
  }
}

function viewerCountText(count: number): string {
  if (count === 0) return "No viewers registered yet";
  return count === 1 ? "1 viewer" : `${count} viewers`;
}

/** Saves the current screen as "<instance>-<UTC time>Z.png". */
function downloadScreenshot(client: RefObject<RFB | null>, instanceName: string) {
  const rfb = client.current;
  if (!rfb) return;
  const fileName = screenshotFileName(instanceName, new Date());
  rfb.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName;
    link.click();
    // The download reads the object URL after click() returns.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }, "image/png");
}
