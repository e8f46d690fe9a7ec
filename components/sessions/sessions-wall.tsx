"use client";

import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useCurrentUser } from "@/components/current-user";
import type { FleetSnapshot } from "@/components/fleet-events";
import { SessionTile } from "@/components/sessions/session-tile";
import { SessionViewDialog } from "@/components/sessions/session-view-dialog";
import type { TileRendering } from "@/components/vnc/tile-viewer";
import { useNow } from "@/components/vnc/use-now";
import { useVncSessions } from "@/components/vnc/use-vnc-sessions";
import { noLiveViewReason } from "@/lib/vnc/live-view";
import {
  findVncSession,
  parseSessionViewParam,
  searchWithView,
  sessionViewParam,
} from "@/lib/vnc/session-list";
import type { InstanceKey, InstanceSummary } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";

const UPTIME_REFRESH_MS = 30_000;
// Key in a history entry's state that marks a view opened from the wall.
const OPENED_FROM_WALL = "sessionsWallView";

async function fetchFleet(): Promise<FleetSnapshot> {
  const response = await fetch("/api/instances");
  if (!response.ok) throw new Error(`Loading instances failed (HTTP ${response.status})`);
  return (await response.json()) as FleetSnapshot;
}

/**
 * Renders every running browser sandbox on every reachable host as a live
 * tile. The fleet query that the instance list uses keeps the set current.
 */
// NOTE: with 24 tiles on a two-core machine, the first load took 5.9 s until
// every tile showed a frame, against 0.9 s for one tile (bench/sessions-wall.ts,
// run 4). The browser sends the tiles' upgrades one at a time, the console
// accepts each in 67 ms (median) and socat starts in 18 ms. The rest of the
// time is on the browser's side between upgrades and is not measured.
export function SessionsWall({
  initial,
  tileRendering = "thumbnail",
}: {
  initial: FleetSnapshot;
  tileRendering?: TileRendering;
}) {
  const user = useCurrentUser();
  const { data } = useQuery({
    queryKey: queryKeys.fleet(),
    queryFn: fetchFleet,
    initialData: initial,
    staleTime: Infinity,
  });
  const sessions = useVncSessions();
  const now = useNow(UPTIME_REFRESH_MS);

  const sandboxes = useMemo(
    () =>
      data.instances
        .filter((instance) => noLiveViewReason(instance) === null)
        .sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name)),
    [data.instances],
  );
  const controlled = sandboxes.filter(
    (instance) => findVncSession(sessions.data, instance)?.controller,
  ).length;
  const unreachable = data.hosts.filter((host) => host.state === "unreachable");

  // The open full view lives in the URL (?view=host/project/name), so the
  // browser's Back closes it and the address can be shared. Changing it
  // with the History API keeps the wall and its tiles' connections.
  const searchParams = useSearchParams();
  const viewParam = searchParams.get("view");
  const viewKey = parseSessionViewParam(viewParam);
  const [preview, setPreview] = useState<{ param: string; image: string | null } | null>(null);
  // The element that had focus when the view opened, to focus again after.
  const opener = useRef<HTMLElement | null>(null);
  const lastViewed = useRef<InstanceKey | null>(null);
  const openView = useCallback((instance: InstanceSummary, image: string | null) => {
    const param = sessionViewParam(instance);
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setPreview({ param, image });
    // The entry's state remembers that the wall is the entry before it,
    // also after a reload or a Forward.
    window.history.pushState({ [OPENED_FROM_WALL]: true }, "", withViewParam(param));
  }, []);
  const closeView = useCallback(() => {
    const state: unknown = window.history.state;
    if (typeof state === "object" && state !== null && OPENED_FROM_WALL in state) {
      window.history.back();
    } else {
      // Opened from an address: going back would leave the wall.
      window.history.replaceState(null, "", withViewParam(null));
    }
  }, []);
  const viewOpen = viewParam !== null;
  useEffect(() => {
    const key = parseSessionViewParam(viewParam);
    if (key) lastViewed.current = key;
  }, [viewParam]);
  useEffect(() => {
    if (viewOpen) return;
    // A view opened by Forward or from an address has no opener: its tile
    // takes the focus instead.
    const target = opener.current ?? tileLink(lastViewed.current);
    opener.current = null;
    lastViewed.current = null;
    target?.focus({ preventScroll: true });
  }, [viewOpen]);
  const viewed = viewKey
    ? (data.instances.find(
        (instance) =>
          instance.host === viewKey.host &&
          instance.project === viewKey.project &&
          instance.name === viewKey.name,
      ) ?? null)
    : null;

  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Sessions</h1>
        <p className="text-slate-500">
          {sandboxes.length} running browser {sandboxes.length === 1 ? "sandbox" : "sandboxes"}
          {controlled > 0 && `, ${controlled} under control`}. Tiles are view-only and pause
          while off screen; open one for the full view.
        </p>
      </div>

      {unreachable.length > 0 && (
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-amber-900">
          Not shown: the sandboxes of {unreachable.map((host) => host.name).join(", ")}, which{" "}
          {unreachable.length === 1 ? "is" : "are"} unreachable.
        </p>
      )}
      {sessions.error && (
        <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-red-800">
          Who controls each sandbox is unknown: {sessions.error.message}
        </p>
      )}

      {sandboxes.length === 0 ? (
        <div
          data-testid="sessions-empty"
          className="rounded-md border border-dashed border-slate-300 bg-white px-6 py-12 text-center"
        >
          <p className="font-medium">No running browser sandboxes</p>
          <p className="text-slate-500">
            Browser sandboxes appear here while they run. Start one from its instance page.
          </p>
        </div>
      ) : (
        <ul className="grid grid-cols-[repeat(auto-fill,minmax(17rem,1fr))] gap-4">
          {sandboxes.map((instance) => (
            <li key={`${instance.host}/${instance.project}/${instance.name}`}>
              <SessionTile
                instance={instance}
                session={findVncSession(sessions.data, instance)}
                readerUserId={user.id}
                now={now}
                tileRendering={tileRendering}
                onOpen={openView}
              />
            </li>
          ))}
        </ul>
      )}

      {viewParam !== null && (
        <SessionViewDialog
          key={viewParam}
          viewParam={viewParam}
          viewKey={viewKey}
          instance={viewed}
          preview={viewKey && preview?.param === sessionViewParam(viewKey) ? preview.image : null}
          now={now}
          onClose={closeView}
        />
      )}
    </div>
  );
}

/** Returns the current address with the `view` parameter set to `param`, or removed. */
function withViewParam(param: string | null): string {
  const { pathname, search, hash } = window.location;
  return `${pathname}${searchWithView(search, param)}${hash}`;
}

/** Returns the link that covers the tile of `key`, if the wall shows it. */
function tileLink(key: InstanceKey | null): HTMLElement | null {
  if (!key) return null;
  const testId = `session-tile-${key.host}-${key.project}-${key.name}`;
  return document.querySelector<HTMLElement>(`[data-testid="${CSS.escape(testId)}"] a`);
}
