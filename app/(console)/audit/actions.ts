"use server";

import { z } from "zod";

import { inspectAuditChain, type ChainReport } from "@/lib/audit/hash";
import { parseCutPoint, planAuditPrune, pruneAuditLog } from "@/lib/audit/prune";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { log } from "@/lib/log";
import { parseInput } from "@/lib/validation";

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

const pruneCutInput = z.object({
  before: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date such as 2026-01-31"),
});

const pruneInput = pruneCutInput.extend({
  expectedRows: z.number().int().min(0, "expected the row count that was shown"),
});

/** The rows a prune would remove, for the confirmation. */
export interface PrunePreview {
  /** The cut point as ISO 8601 (midnight UTC of the chosen date). */
  before: string;
  rows: number;
  firstId: number | null;
  lastId: number | null;
}

export type PlanPruneResult = { ok: true; preview: PrunePreview } | { ok: false; error: string };

export type PruneAuditResult =
  | { ok: true; removedRows: number; recordId: number; lastRemovedHash: string | null }
  | { ok: false; error: string };

/**
 * Counts the audit rows older than the chosen date, midnight UTC, for the
 * confirmation of a prune. Needs audit:prune.
 */
export async function planPruneAction(input: unknown): Promise<PlanPruneResult> {
  try {
    await requireUser("audit:prune");
    const { before } = parseInput(pruneCutInput, input);
    const plan = await planAuditPrune(getDb(), parseCutPoint({ before }).before);

    return {
      ok: true,
      preview: { before: plan.before.toISOString(), rows: plan.rows, firstId: plan.firstId, lastId: plan.lastId },
    };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/**
 * Removes the audit rows older than the chosen date, if their count is
 * still the confirmed one, and records the prune. Needs audit:prune.
 */
export async function pruneAuditAction(input: unknown): Promise<PruneAuditResult> {
  let userId: string | undefined;
  try {
    const user = await requireUser("audit:prune");
    userId = user.id;
    const { before, expectedRows } = parseInput(pruneInput, input);
    const result = await pruneAuditLog(getDb(), {
      before: parseCutPoint({ before }).before,
      actor: { id: user.id, email: user.email },
      sourceAddress: await getSourceAddress(),
      expectedRows,
    });

    return {
      ok: true,
      removedRows: result.rows,
      recordId: result.record.id,
      lastRemovedHash: result.lastRemovedHash,
    };
  } catch (error) {
    log.warn({ err: error, userId }, "audit prune failed");
    return { ok: false, error: userMessage(error) };
  }
}
