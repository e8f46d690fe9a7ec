import { NextResponse } from "next/server";

import { requireUser } from "@/lib/auth/session";
import { errorResponse } from "@/lib/http";
import { getVncSessions } from "@/lib/vnc/sessions";

export const dynamic = "force-dynamic";

/** Lists every browser sandbox with an open view, with its viewers and controller. */
export async function GET(): Promise<Response> {
  try {
    await requireUser("session:view");
    return NextResponse.json({ sessions: getVncSessions().list() });
  } catch (error) {
    return errorResponse(error);
  }
}
