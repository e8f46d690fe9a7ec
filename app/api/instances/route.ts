import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { getFleet } from "@/lib/hosts/watcher";
import { errorResponse } from "@/lib/http";

export const dynamic = "force-dynamic";

/** Every instance of every host, with each host's reachability. */
export async function GET(): Promise<Response> {
  try {
    await requireUser("instance:read");
    const fleet = getFleet();
    await fleet.ready();
    return NextResponse.json({ hosts: fleet.hosts(), instances: fleet.instances() });
  } catch (error) {
    return errorResponse(error);
  }
}
