"use server";

import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { getClient, getHost } from "@/lib/hosts/registry";
import { cancelOperation } from "@/lib/lxd";
import { parseInput } from "@/lib/validation";

const cancelInput = z.object({
  host: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "expected a host id"),
  id: z.uuid(),
});

export type CancelResult = { ok: true } | { ok: false; error: string };

/**
 * Cancels a running LXD operation, audited. LXD rejects operations whose
 * may_cancel is false, and that error is returned.
 */
export async function cancelOperationAction(input: unknown): Promise<CancelResult> {
  try {
    const user = await requireUser("instance:operate");
    const { host, id } = parseInput(cancelInput, input);
    getHost(host);
    await runAudited(
      getDb(),
      {
        actor: { id: user.id, email: user.email },
        sourceAddress: await getSourceAddress(),
        action: "operation.cancel",
        host,
        params: { operation: id },
      },
      async (audit) => {
        audit.setOperationId(id);
        await cancelOperation(getClient(host), id);
      },
    );
    return { ok: true };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
