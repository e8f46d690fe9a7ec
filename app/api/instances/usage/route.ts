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
import { parseInput } from "@/lib/validation";

export const dynamic = "force-dynamic";

/** Most instances one request may ask about: a screenful of the list. */
const maxKeys = 200;
/** Enough for maxKeys keys of maximum length. */
const maxBodyBytes = 64 * 1024;

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
    const text = await request.text();
    if (text.length > maxBodyBytes) {
      throw new ConsoleError(
        "invalid_input",
        `The request body is ${text.length} bytes; send at most ${maxBodyBytes}.`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ConsoleError("invalid_input", 'The request body is not valid JSON; send {"keys": [...]}.');
    }
    const keys = [...new Set(parseInput(bodySchema, json).keys)];
    const entries = await Promise.all(
      keys.map(async (text): Promise<[string, InstanceUsage | null]> => {
        const parts = text.split("/");
        const [host = "", project = "", name = ""] = parts;
        const key = instanceKeySchema.safeParse({ host, project, name });
        if (parts.length !== 3 || !key.success) {
          const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
          throw new ConsoleError(
            "invalid_input",
            `"${shown}" is not an instance key; expected "host/project/name".`,
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
