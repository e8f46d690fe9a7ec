import { NextResponse } from "next/server";
import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { ConsoleError } from "@/lib/errors";
import { getHost } from "@/lib/hosts/registry";
import { errorResponse } from "@/lib/http";
import { fetchInstanceDetail } from "@/lib/instances/detail";
import { instanceKeySchema } from "@/lib/instances/schemas";

export const dynamic = "force-dynamic";

/** One instance with its config, devices, state and snapshots. */
export async function GET(
  _request: Request,
  { params }: { params: Promise<{ host: string; project: string; name: string }> },
): Promise<Response> {
  try {
    await requireUser("instance:read");
    const parsed = instanceKeySchema.safeParse(await params);
    if (!parsed.success) {
      throw new ConsoleError("invalid_input", z.prettifyError(parsed.error));
    }
    getHost(parsed.data.host);
    return NextResponse.json(await fetchInstanceDetail(parsed.data));
  } catch (error) {
    return errorResponse(error);
  }
}
