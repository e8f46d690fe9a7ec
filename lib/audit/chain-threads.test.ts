import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it, vi } from "vitest";

import { type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";
import { log } from "@/lib/log";

import { recordAuditEvent } from "./audit";
import { inspectAuditChain, type ChainReport } from "./hash";

// The walk split over worker threads must report exactly what the walk on
// one thread reports, wherever the chain breaks: inside a range, on the
// first row of a range, or not at all.

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function appendRows(count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      recordAuditEvent(db, {
        actor: { system: "threads-test" },
        action: "instance.start",
        instance: `web-${i}`,
        params: { i, tags: ["a", { z: 1, b: null }] },
        result: "success",
      }),
    ),
  );
}

async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await tx.execute(statement);
    await tx.execute(sql`alter table audit_events enable trigger user`);
  });
}

/**
 * Inspects the chain on one thread, in 3 workers, and with a missing worker
 * file, which must fall back to one thread. Returns the common report.
 */
async function inspectEveryWay(): Promise<ChainReport> {
  const warn = vi.spyOn(log, "warn");
  try {
    const single = await inspectAuditChain(db, { threads: 1 });
    const threaded = await inspectAuditChain(db, { threads: 3 });
    // The workers ran: a failed worker would have logged the fallback.
    expect(warn).not.toHaveBeenCalled();
    const fallback = await inspectAuditChain(db, { threads: 3, workerFile: "/nonexistent/chain-worker.mjs" });
    expect(warn).toHaveBeenCalledWith(expect.anything(), "audit chain worker failed; verifying on one thread");

    expect(threaded).toEqual(single);
    expect(fallback).toEqual(single);
    return single;
  } finally {
    warn.mockRestore();
  }
}

describe("chain walk in worker threads", () => {
  it("reports an intact chain as one thread does", async () => {
    await appendRows(90);

    expect(await inspectEveryWay()).toEqual({ checkedRows: 90, lastId: 90, firstBroken: null, anchor: null });
  });

  it("finds a changed row inside the second range", async () => {
    await appendRows(90);
    await tamper(sql`update audit_events set error = 'changed' where id = 45`);

    expect(await inspectEveryWay()).toEqual({
      checkedRows: 45,
      lastId: 45,
      firstBroken: { id: 45, reason: "hash_mismatch" },
      anchor: null,
    });
  });

  it("finds a deleted row at a range boundary", async () => {
    await appendRows(90);
    // With ids 1 to 90 in three ranges, row 31 starts the second range.
    await tamper(sql`delete from audit_events where id = 31`);

    expect(await inspectEveryWay()).toEqual({
      checkedRows: 31,
      lastId: 32,
      firstBroken: { id: 32, reason: "prev_hash_mismatch" },
      anchor: null,
    });
  });

  it("names the earliest of breaks in two ranges", async () => {
    await appendRows(90);
    await tamper(sql`update audit_events set actor = 'x' where id in (70, 20)`);

    const report = await inspectEveryWay();
    expect(report.firstBroken).toEqual({ id: 20, reason: "hash_mismatch" });
    expect(report.checkedRows).toBe(20);
  });

  it("finds a deleted head", async () => {
    await appendRows(90);
    await tamper(sql`delete from audit_events where id = 1`);

    const report = await inspectEveryWay();
    expect(report.firstBroken).toEqual({ id: 2, reason: "prev_hash_mismatch" });
    expect(report.checkedRows).toBe(1);
  });

  it("checks the rows, not only the ends, of each range", async () => {
    await appendRows(90);
    const [row] = await db.select().from(auditEvents).where(eq(auditEvents.id, 60));
    // The row keeps a valid hash but links to the wrong row.
    await tamper(sql`update audit_events set prev_hash = ${row!.hash} where id = 62`);

    const report = await inspectEveryWay();
    expect(report.firstBroken).toEqual({ id: 62, reason: "prev_hash_mismatch" });
  });
});
