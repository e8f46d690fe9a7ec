"use server";

import { z } from "zod";

import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ConsoleError, userMessage } from "@/lib/errors";
import { instanceKeySchema } from "@/lib/instances/schemas";
import { releaseControl, takeControl } from "@/lib/vnc/views";

import type { ActionResult } from "../instances/actions";

const controlInput = instanceKeySchema.extend({
  viewId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, "The view id is a UUID"),
});

async function parseControlRequest(input: unknown) {
  const user = await requireUser("session:view");
  const parsed = controlInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConsoleError(
      "invalid_input",
      `Invalid ${issue?.path.join(".") || "request"}: ${issue?.message ?? "bad value"}.`,
    );
  }
  const { viewId, ...key } = parsed.data;
  return { user, sourceAddress: await getSourceAddress(), key, viewId };
}

/**
 * Gives the caller's open view of a browser sandbox control of its keyboard,
 * mouse and clipboard, taking it from the previous controller, if any. Audited.
 */
export async function takeControlAction(input: unknown): Promise<ActionResult> {
  try {
    await takeControl(getDb(), await parseControlRequest(input));
    return { ok: true };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Makes the caller's view view-only again. Audited when it had control. */
export async function releaseControlAction(input: unknown): Promise<ActionResult> {
  try {
    await releaseControl(getDb(), await parseControlRequest(input));
    return { ok: true };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
