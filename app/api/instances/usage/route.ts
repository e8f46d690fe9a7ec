import { NextResponse } from "next/server";
import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { ConsoleError } from "@/lib/errors";
import { getClient } from "@/lib/hosts/registry";
import { errorResponse } from "@/lib/http";
import { instanceKeySchema } from "@/lib/instances/schemas";
import type { InstanceUsage } from "@/lib/instances/types";
import { getInstance, toInstanceSummary } from "@/lib/lxd";
import { log } from "@/lib/log";

export const dynamic = "force-dynamic";

/** Most instances one request may ask about: a screenful of the list. */
const maxKeys = 200;

const bodySchema = z.object({
  keys: z.array(z.string()).max(maxKeys, `Ask for at most ${maxKeys} instances at once`),
});

/**
 * Current usage of the instances the browser shows, keyed "host/project/name".
 * The browser asks only for the running instances on screen, so usage is
 * never polled for the whole list.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    await requireUser("instance:read");
    const parsed = bodySchema.safeParse(await request.json().catch(() => null));
    if (!parsed.success) {
      throw new ConsoleError("invalid_input", z.prettifyError(parsed.error));
    }

    const entries = await Promise.all(
      parsed.data.keys.map(async (text): Promise<[string, InstanceUsage | null]> => {
        const [host = "", project = "", name = ""] = text.split("/");
        const key = instanceKeySchema.safeParse({ host, project, name });
        if (!key.success) {
          throw new ConsoleError(
            "invalid_input",
            `"${text}" is not an instance key; expected "host/project/name".`,
          );
        }
        try {
          const { instance } = await getInstance(getClient(key.data.host), key.data);
          return [text, toInstanceSummary(key.data.host, instance).usage];
        } catch (error) {
          log.debug({ host, project, instance: name, err: error }, "usage unavailable");
          return [text, null];
        }
      }),
    );
    return NextResponse.json({ usage: Object.fromEntries(entries) });
  } catch (error) {
    return errorResponse(error);
  }
}
