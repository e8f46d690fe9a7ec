"use server";

import { z } from "zod";

import { inspectAuditChain, type ChainReport } from "@/lib/audit/hash";
import { parseCutPoint, planAuditPrune, pruneAuditLog } from "@/lib/audit/prune";
import { checkWitnesses, recordHeadWitness, type WitnessReport } from "@/lib/audit/witness";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { log } from "@/lib/log";
import { parseInput } from "@/lib/validation";

export type VerifyChainResult =
  | {
      ok: true;
      report: ChainReport;
      /** The check against the witness file, or why it could not run. */
      witness: WitnessReport | { error: string };
      elapsedMs: number;
    }
  | { ok: false; error: string };

/**
 * Recomputes every audit row's hash and link and reports the first row that
 * does not fit the chain, then checks the rows written down in the witness
 * file outside the database. Needs audit:read.
 */
export async function verifyChainAction(): Promise<VerifyChainResult> {
  try {
    const user = await requireUser("audit:read");
    const db = getDb();
    const started = performance.now();
    const report = await inspectAuditChain(db);
    const witness = await checkWitnesses(db).catch((error: unknown) => {
      log.error({ err: error, userId: user.id }, "checking the audit witness file failed");
      return { error: userMessage(error) };
    });
    const elapsedMs = Math.round(performance.now() - started);

    if (report.firstBroken) {
      log.warn({ userId: user.id, ...report.firstBroken }, "audit chain verification found a broken row");
    }
    if ("problems" in witness && witness.problems.length > 0) {
      log.warn({ userId: user.id, problems: witness.problems.length, first: witness.problems[0] }, "audit witness check found a problem");
    }
    // A log found intact is written down as it is now, so a later cut is
    // measured from here. A log with problems is not, so they stay visible,
    // and a missing or empty file is not started here, since it would vouch
    // for the log as it is.
    const continues = "problems" in witness && witness.entries > 0 && witness.problems.length === 0;
    if (!report.firstBroken && continues && witness.invalidLines === 0) {
      await recordHeadWitness(db, undefined, { createFile: false }).catch((error: unknown) => {
        log.error({ err: error, userId: user.id }, "recording the audit witness after verification failed");
      });
    }
    return { ok: true, report, witness, elapsedMs };
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
  | { ok: true; removedRows: number; recordId: number; lastRemovedHash: string | null; witnessError: string | null }
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
      witnessError: result.witnessError,
    };
  } catch (error) {
    log.warn({ err: error, userId }, "audit prune failed");
    return { ok: false, error: userMessage(error) };
  }
}
