import type { Metadata } from "next";
import { SessionsWall } from "@/components/sessions/sessions-wall";
import type { TileRendering } from "@/components/vnc/tile-viewer";
import { requirePageUser } from "@/lib/auth/session";
import { getFleet } from "@/lib/hosts/watcher";

export const metadata: Metadata = { title: "Sessions" };

export default async function SessionsPage({
  searchParams,
}: {
  searchParams: Promise<{ tiles?: string | string[] }>;
}) {
  await requirePageUser("session:view");
  const fleet = getFleet();
  await fleet.ready();
  // ?tiles=scaled-canvas renders the tiles as before the thumbnail canvas,
  // so that the sessions wall bench can compare both in one run.
  const tileRendering: TileRendering =
    (await searchParams).tiles === "scaled-canvas" ? "scaled-canvas" : "thumbnail";

  return (
    <SessionsWall
      initial={{ hosts: fleet.hosts(), instances: fleet.instances() }}
      tileRendering={tileRendering}
    />
  );
}
