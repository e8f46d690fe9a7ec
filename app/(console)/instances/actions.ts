"use server";

import { z } from "zod";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { changeInstanceState } from "@/lib/instances/lifecycle";
import { instanceKeySchema } from "@/lib/instances/schemas";
import { parseInput } from "@/lib/validation";

export type ActionResult = { ok: true } | { ok: false; error: string };

const changeStateInput = instanceKeySchema.extend({
  action: z.enum(["start", "stop", "restart", "freeze", "unfreeze"]),
  force: z.boolean().default(false),
});

/** Starts, stops, restarts, freezes or unfreezes an instance, audited. */
export async function changeInstanceStateAction(input: unknown): Promise<ActionResult> {
  try {
    const user = await requireUser("instance:operate");
    const { action, force, ...key } = parseInput(changeStateInput, input);
    await changeInstanceState(getDb(), {
      actor: { id: user.id, email: user.email },
      sourceAddress: (await getSourceAddress()) ?? undefined,
      key,
      action,
      force,
    });
    return { ok: true };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
