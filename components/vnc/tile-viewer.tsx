"use client";

import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from "react";
import { ConnectionStatus } from "@/components/vnc/connection-status";
import { useRfbConnection } from "@/components/vnc/use-rfb-connection";
import { TILE_UPDATE_INTERVAL_MS } from "@/lib/vnc/types";
import type { InstanceKey } from "@/lib/instances/types";

/**
 * Rendering of a tile's screen. "thumbnail" keeps noVNC's
 * full-size canvas out of the document and copies it, scaled down, into a
 * tile-sized canvas. "scaled-canvas" puts noVNC's canvas in the tile and
 * scales it with CSS, so the browser composites every full-size canvas. The
 * sessions wall bench still measures it, as the rendering before thumbnails.
 */
export type TileRendering = "thumbnail" | "scaled-canvas";

/** Shows a sandbox's screen in a small, view-only tile without controls. */
export function TileViewer({
  instanceKey,
  viewId,
  enabled = true,
  rendering = "thumbnail",
}: {
  instanceKey: InstanceKey;
  viewId: string;
  enabled?: boolean;
  rendering?: TileRendering;
}) {
  const tileScreen = useRef<HTMLDivElement>(null);
  const thumbnailCanvas = useRef<HTMLCanvasElement>(null);
  // noVNC renders into this element, which never joins the document.
  const [offscreenScreen] = useState(() =>
    typeof document === "undefined" ? null : document.createElement("div"),
  );
  const offscreen = useMemo(() => ({ current: offscreenScreen }), [offscreenScreen]);
  const thumbnail = rendering === "thumbnail";
  const pendingCopies = useRef(0);
  const markScreenChanged = useCallback(() => {
    // One copy for the update and one more for a JPEG rectangle that noVNC
    // finishes decoding after the message.
    pendingCopies.current = 2;
  }, []);

  const { state } = useRfbConnection(thumbnail ? offscreen : tileScreen, {
    instanceKey,
    mode: "tile",
    viewId,
    enabled,
    viewOnly: true,
    onServerMessage: thumbnail ? markScreenChanged : undefined,
  });
  const connected = state.phase === "connected";

  useEffect(() => {
    const source = offscreenScreen;
    const target = thumbnailCanvas.current;
    if (!thumbnail || !connected || !source || !target) return;

    const copy = () => {
      if (pendingCopies.current === 0) return;
      pendingCopies.current -= 1;
      copyScaledScreen(source, target);
    };
    pendingCopies.current = 2;
    const timer = setInterval(copy, TILE_UPDATE_INTERVAL_MS);
    copy();
    // A resized tile is drawn again at its new size, even while the screen
    // does not change.
    const resized = new ResizeObserver(() => {
      pendingCopies.current = Math.max(pendingCopies.current, 1);
    });
    resized.observe(target);

    return () => {
      clearInterval(timer);
      resized.disconnect();
      // A disconnected tile shows no stale screen, as noVNC's own canvas
      // leaves the page when it disconnects.
      target.getContext("2d")?.clearRect(0, 0, target.width, target.height);
    };
  }, [thumbnail, connected, offscreenScreen]);

  return (
    <div className="relative size-full bg-slate-950" data-testid="vnc-tile">
      <TileScreen screen={tileScreen} canvas={thumbnail ? thumbnailCanvas : null} />
      {!connected && (
        <div className="absolute inset-x-0 bottom-0 bg-slate-900/80 px-2 py-1 text-slate-200">
          <ConnectionStatus state={state} compact />
        </div>
      )}
    </div>
  );
}

function TileScreen({
  screen,
  canvas,
}: {
  screen: RefObject<HTMLDivElement | null>;
  canvas: RefObject<HTMLCanvasElement | null> | null;
}) {
  return (
    <div ref={screen} className="size-full" data-testid="vnc-screen">
      {canvas && <canvas ref={canvas} width={0} height={0} className="size-full object-contain" />}
    </div>
  );
}

/**
 * Draws noVNC's canvas inside `source` into `target`, scaled to the size
 * that `target` takes on screen in device pixels and never above the
 * remote screen's size. The aspect ratio stays the remote screen's, so a
 * pixel at (x, y) of the remote screen is at (x, y) times
 * `target.width / remote width` on the tile.
 */
function copyScaledScreen(source: HTMLElement, target: HTMLCanvasElement): void {
  const screen = source.querySelector("canvas");
  if (!screen || screen.width === 0 || screen.height === 0) return;

  const ratio = window.devicePixelRatio || 1;
  const boxWidth = target.clientWidth * ratio;
  const boxHeight = target.clientHeight * ratio;
  if (boxWidth === 0 || boxHeight === 0) return;
  const scale = Math.min(1, boxWidth / screen.width, boxHeight / screen.height);
  const width = Math.max(1, Math.round(screen.width * scale));
  const height = Math.max(1, Math.round(screen.height * scale));
  if (target.width !== width || target.height !== height) {
    target.width = width;
    target.height = height;
  }

  const context = target.getContext("2d");
  if (!context) return;
  context.imageSmoothingQuality = "medium";
  context.drawImage(screen, 0, 0, width, height);
}
