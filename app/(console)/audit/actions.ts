"use server";

import { inspectAuditChain, type ChainReport } from "@/lib/audit/hash";
import { requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { log } from "@/lib/log";

export type VerifyChainResult =
  | { ok: true; report: ChainReport; elapsedMs: number }
  | { ok: false; error: string };

/**
 * Recomputes every audit row's hash and link and reports the first row that
 * does not fit the chain. Needs audit:read.
 */
export async function verifyChainAction(): Promise<VerifyChainResult> {
  try {
    const user = await requireUser("audit:read");
    const started = performance.now();
    const report = await inspectAuditChain(getDb());
    const elapsedMs = Math.round(performance.now() - started);

    if (report.firstBroken) {
      log.warn({ userId: user.id, ...report.firstBroken }, "audit chain verification found a broken row");
    }
    return { ok: true, report, elapsedMs };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
