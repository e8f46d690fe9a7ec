import { log } from "@/lib/log";

/**
 * Audit rows that a running action or an open view has yet to write: the
 * outcome row of an action, or the close row of a VNC view or tile watch.
 * A stopping console writes them at once instead of leaving an intent row
 * without its outcome or a view without its close.
 */
export interface OwedAuditRows {
  /** Settles once the rows are written, or their write has failed and been logged. */
  settled: Promise<unknown>;
  /**
   * Writes the rows now, recording that the console stopped first. The
   * normal writer and this one share a guard, so that only one of them writes.
   */
  writeNow(): Promise<void>;
}

const globalOwed = globalThis as typeof globalThis & {
  [key: symbol]: Set<OwedAuditRows> | undefined;
};
// On globalThis, because the custom server and Next's route bundles load
// separate copies of this module.
const owedKey = Symbol.for("sandbox-console.owed-audit-rows");

function owedRows(): Set<OwedAuditRows> {
  let owed = globalOwed[owedKey];
  if (!owed) {
    owed = new Set();
    globalOwed[owedKey] = owed;
  }
  return owed;
}

/** Registers rows that are owed until `entry.settled` settles. */
export function trackOwedAuditRows(entry: OwedAuditRows): void {
  const owed = owedRows();
  owed.add(entry);
  void entry.settled.finally(() => owed.delete(entry));
}

/** Returns how many entries still owe audit rows. */
export function countOwedAuditRows(): number {
  return owedRows().size;
}

/**
 * Waits up to `waitMs` for every owed row to be written, then writes the
 * rest at once with `writeNow`, as at shutdown. Returns how many entries had
 * to be written that way.
 */
export async function settleOwedAuditRows(waitMs: number): Promise<number> {
  const owed = owedRows();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...owed].map((entry) => entry.settled)),
    new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);

  const remaining = [...owed];
  const results = await Promise.allSettled(remaining.map((entry) => entry.writeNow()));
  for (const result of results) {
    if (result.status === "rejected") {
      log.error({ err: result.reason }, "audit write at shutdown failed");
    }
  }
  return remaining.length;
}
