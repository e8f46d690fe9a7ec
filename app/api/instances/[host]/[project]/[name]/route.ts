import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { getHost } from "@/lib/hosts/registry";
import { errorResponse } from "@/lib/http";
import { fetchInstanceDetail } from "@/lib/instances/detail";
import { instanceKeySchema } from "@/lib/instances/schemas";
import { parseInput } from "@/lib/validation";

export const dynamic = "force-dynamic";

/** One instance with its config, devices, state and snapshots. */
export async function GET(
  _request: Request,
  { params }: { params: Promise<{ host: string; project: string; name: string }> },
): Promise<Response> {
  try {
    await requireUser("instance:read");
    const key = parseInput(instanceKeySchema, await params);
    getHost(key.host);
    return NextResponse.json(await fetchInstanceDetail(key));
  } catch (error) {
    return errorResponse(error);
  }
}
