import { asc, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";

import { closeDb, createDb, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { testDatabaseUrl } from "@/lib/db/test-database";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";
import { ConsoleError } from "@/lib/errors";

import { recordAuditEvent, type AuditEvent } from "./audit";
import { computeAuditHash, inspectAuditChain, PRUNE_ACTION, type HashedAuditFields } from "./hash";
import { parseCutPoint, planAuditPrune, pruneAuditLog } from "./prune";

const DAY_MS = 86_400_000;
const admin = { id: "admin-1", email: "admin@example.com" };

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

/**
 * Writes `count` chained rows one day apart, ending `endDaysAgo` days ago,
 * as an old log would hold them. The rows go straight into the table so
 * their times can lie in the past.
 */
async function seedOldRows(count: number, endDaysAgo = 1): Promise<AuditEvent[]> {
  const rows: AuditEvent[] = [];
  let prevHash: string | null = null;
  const end = Date.now() - endDaysAgo * DAY_MS;

  for (let i = 0; i < count; i++) {
    const fields: HashedAuditFields = {
      id: i + 1,
      at: new Date(end - (count - 1 - i) * DAY_MS),
      correlationId: null,
      phase: "event",
      actorId: null,
      actor: "system:seed",
      sourceAddress: null,
      action: "instance.start",
      host: "local",
      project: "default",
      instance: `old-${i}`,
      params: { i },
      result: "success",
      error: null,
      operationId: null,
      durationMs: null,
      prevHash,
    };
    const row: AuditEvent = { ...fields, hash: computeAuditHash(fields) };
    rows.push(row);
    prevHash = row.hash;
  }

  await db.insert(auditEvents).values(rows);
  return rows;
}

async function appendRecent(count: number): Promise<AuditEvent[]> {
  const rows: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    rows.push(await recordAuditEvent(db, { actor: admin, action: "instance.stop", params: { i }, result: "success" }));
  }
  return rows;
}

async function allRows(): Promise<AuditEvent[]> {
  return db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

async function tamper(change: (tx: Db) => Promise<unknown>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await change(tx);
    await tx.execute(sql`alter table audit_events enable trigger user`);
  });
}

function daysAgo(days: number): Date {
  return new Date(Date.now() - days * DAY_MS);
}

describe("parseCutPoint", () => {
  const now = new Date("2026-06-15T12:00:00Z");

  it("reads a date as midnight UTC", () => {
    expect(parseCutPoint({ before: "2026-01-31" }, now).before.toISOString()).toBe("2026-01-31T00:00:00.000Z");
  });

  it("reads a date and time with a zone", () => {
    const cut = parseCutPoint({ before: "2026-01-31T12:30:00+02:00" }, now);
    expect(cut.before.toISOString()).toBe("2026-01-31T10:30:00.000Z");
  });

  it("accepts a leap day", () => {
    expect(parseCutPoint({ before: "2024-02-29" }, now).before.toISOString()).toBe("2024-02-29T00:00:00.000Z");
  });

  it("counts keep-days back from now", () => {
    const cut = parseCutPoint({ keepDays: "30" }, now);
    expect(cut.before.toISOString()).toBe("2026-05-16T12:00:00.000Z");
    expect(cut.details).toEqual({ keepDays: 30 });
  });

  it.each([
    [{ before: "2026-13-01" }, /Invalid cut point "2026-13-01"/],
    [{ before: "2026-01-31T12:00" }, /Invalid cut point "2026-01-31T12:00"/],
    [{ before: "yesterday" }, /Invalid cut point "yesterday"/],
    [{ before: "2026-02-30" }, /Invalid cut point "2026-02-30": 2026-02 has no day 30/],
    [{ before: "2025-02-29" }, /2025-02 has no day 29/],
    [{ before: "0000-01-01" }, /the year must be 1970 or later/],
    [{ before: "2026-01-31T24:00:00Z" }, /the time must be between/],
    [{ keepDays: "0" }, /Invalid --keep-days "0"/],
    [{ keepDays: "1.5" }, /Invalid --keep-days "1.5"/],
    [{}, /exactly one cut point/],
    [{ before: "2026-01-31", keepDays: "3" }, /exactly one cut point/],
  ])("rejects %j", (input, message) => {
    expect(() => parseCutPoint(input, now)).toThrow(message);
  });
});

describe("planAuditPrune", () => {
  it("counts the rows older than the cut point", async () => {
    const old = await seedOldRows(10);

    // Rows are 1 to 10 days old, so five are older than 5.5 days.
    const plan = await planAuditPrune(db, daysAgo(5.5));

    expect(plan.rows).toBe(5);
    expect(plan.firstId).toBe(old[0]!.id);
    expect(plan.lastId).toBe(old[4]!.id);
  });

  it("counts nothing before the first row", async () => {
    await seedOldRows(3);

    const plan = await planAuditPrune(db, daysAgo(30));

    expect(plan).toMatchObject({ rows: 0, firstId: null, lastId: null });
  });

  it("rejects a cut point in the future", async () => {
    const future = new Date(Date.now() + DAY_MS);

    await expect(planAuditPrune(db, future)).rejects.toThrow(/in the future/);
  });
});

describe("pruneAuditLog", () => {
  it("removes the old rows and keeps the chain verifiable", async () => {
    const old = await seedOldRows(10);
    const recent = await appendRecent(3);

    const result = await pruneAuditLog(db, { before: daysAgo(5.5), actor: admin, sourceAddress: "127.0.0.1" });

    expect(result.rows).toBe(5);
    expect(result.lastId).toBe(old[4]!.id);
    expect(result.lastRemovedHash).toBe(old[4]!.hash);
    const rows = await allRows();
    expect(rows[0]!.id).toBe(old[5]!.id);
    expect(rows[0]!.prevHash).toBe(result.lastRemovedHash);
    expect(rows.map((row) => row.id)).toContain(recent[2]!.id);

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toBeNull();
    expect(report.anchor).toEqual({
      recordId: result.record.id,
      lastRemovedId: old[4]!.id,
      lastRemovedHash: old[4]!.hash,
    });
  });

  it("records who pruned, the cut and the removed rows", async () => {
    const old = await seedOldRows(6);
    const before = daysAgo(2.5);

    const result = await pruneAuditLog(db, { before, actor: admin, sourceAddress: "10.0.0.7", details: { keepDays: 2.5 } });

    const rows = (await allRows()).filter((row) => row.action === PRUNE_ACTION);
    expect(rows.map((row) => row.phase)).toEqual(["intent", "outcome"]);
    const [intent, outcome] = rows;
    expect(intent!.correlationId).toBe(outcome!.correlationId);
    expect(outcome!.id).toBe(result.record.id);
    expect(outcome!.actor).toBe(admin.email);
    expect(outcome!.actorId).toBe(admin.id);
    expect(outcome!.sourceAddress).toBe("10.0.0.7");
    expect(outcome!.result).toBe("success");
    expect(outcome!.params).toEqual({
      before: before.toISOString(),
      keepDays: 2.5,
      removedRows: 4,
      firstRemovedId: old[0]!.id,
      lastRemovedId: old[3]!.id,
      lastRemovedHash: old[3]!.hash,
    });
  });

  it("leaves plain DELETE rejected", async () => {
    await seedOldRows(4);
    await pruneAuditLog(db, { before: daysAgo(2.5), actor: admin });

    await expect(db.delete(auditEvents)).rejects.toThrow();
    await expect(db.execute(sql`delete from audit_events where id = 3`)).rejects.toThrow();
    expect(await allRows()).toHaveLength(4);
  });

  it("anchors a second prune at its own record", async () => {
    await seedOldRows(8);
    await appendRecent(2);

    const first = await pruneAuditLog(db, { before: daysAgo(6.5), actor: admin });
    const second = await pruneAuditLog(db, { before: daysAgo(3.5), actor: admin });

    expect(first.rows).toBe(2);
    expect(second.rows).toBe(3);
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toBeNull();
    expect(report.anchor?.recordId).toBe(second.record.id);
  });

  it("records a prune that removes nothing", async () => {
    await seedOldRows(4);
    const earlier = await pruneAuditLog(db, { before: daysAgo(2.5), actor: admin });

    const empty = await pruneAuditLog(db, { before: daysAgo(30), actor: admin });

    expect(empty.rows).toBe(0);
    expect(empty.record.params).toMatchObject({ removedRows: 0, lastRemovedId: null, lastRemovedHash: null });
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toBeNull();
    expect(report.anchor?.recordId).toBe(earlier.record.id);
  });

  it("never removes its own intent row", async () => {
    await seedOldRows(3);

    const result = await pruneAuditLog(db, { before: new Date(), actor: admin });

    expect(result.rows).toBe(3);
    const rows = await allRows();
    expect(rows.map((row) => row.phase)).toEqual(["intent", "outcome"]);
    expect((await inspectAuditChain(db)).firstBroken).toBeNull();
  });

  it("rejects a changed count and records the failure", async () => {
    await seedOldRows(5);

    const attempt = pruneAuditLog(db, { before: daysAgo(2.5), actor: admin, expectedRows: 2 });

    await expect(attempt).rejects.toThrow(/3 audit rows are older than .* not the 2 that were confirmed/);
    await expect(attempt).rejects.toBeInstanceOf(ConsoleError);
    const rows = await allRows();
    expect(rows).toHaveLength(7);
    const outcome = rows.at(-1)!;
    expect(outcome.action).toBe(PRUNE_ACTION);
    expect(outcome.result).toBe("failure");
    expect(outcome.error).toMatch(/not the 2 that were confirmed/);
    expect((await inspectAuditChain(db)).firstBroken).toBeNull();
  });

  it("rejects a cut point in the future", async () => {
    await expect(pruneAuditLog(db, { before: new Date(Date.now() + 60_000), actor: admin })).rejects.toThrow(
      /in the future/,
    );
    expect(await allRows()).toHaveLength(0);
  });
});

describe("pruning path in the database", () => {
  it("rejects a DELETE that leaves rows before the cut", async () => {
    await seedOldRows(5);

    const partial = db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('sandbox_console.audit_prune_through', '3', true)`);
      await tx.execute(sql`delete from audit_events where id = 2`);
    });

    await expect(partial).rejects.toThrow();
    expect(await allRows()).toHaveLength(5);
  });

  it("rejects a DELETE past the declared cut", async () => {
    await seedOldRows(5);

    const tooFar = db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('sandbox_console.audit_prune_through', '2', true)`);
      await tx.execute(sql`delete from audit_events where id <= 4`);
    });

    await expect(tooFar).rejects.toThrow();
    expect(await allRows()).toHaveLength(5);
  });
});

describe("tampering after a prune", () => {
  it("names the first row after rows deleted outside pruning", async () => {
    await seedOldRows(8);
    await pruneAuditLog(db, { before: daysAgo(5.5), actor: admin });
    const [first, second] = await allRows();

    await tamper((tx) => tx.delete(auditEvents).where(eq(auditEvents.id, first!.id)));

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: second!.id, reason: "prev_hash_mismatch" });
  });

  it("names the first row when the prune record's hash is edited", async () => {
    await seedOldRows(6);
    const result = await pruneAuditLog(db, { before: daysAgo(3.5), actor: admin });
    const [first] = await allRows();

    // Pointing the record at another hash unlinks the first row from it.
    await tamper((tx) =>
      tx
        .update(auditEvents)
        .set({ params: { ...result.record.params, lastRemovedHash: "0".repeat(64) } })
        .where(eq(auditEvents.id, result.record.id)),
    );

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: first!.id, reason: "prev_hash_mismatch" });
  });

  it("names a prune record whose count is edited", async () => {
    await seedOldRows(6);
    const result = await pruneAuditLog(db, { before: daysAgo(3.5), actor: admin });

    await tamper((tx) =>
      tx
        .update(auditEvents)
        .set({ params: { ...result.record.params, removedRows: 1 } })
        .where(eq(auditEvents.id, result.record.id)),
    );

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: result.record.id, reason: "hash_mismatch" });
  });

  it("names the row after a forged prune record", async () => {
    const old = await seedOldRows(8);

    // Delete the first three rows outside pruning, then rewrite a later row
    // into a prune record for them, with a hash that fits its new fields.
    await tamper(async (tx) => {
      await tx.delete(auditEvents).where(sql`${auditEvents.id} <= ${old[2]!.id}`);
      const victim = old[5]!;
      const forged = {
        ...victim,
        phase: "outcome" as const,
        action: PRUNE_ACTION,
        params: { removedRows: 3, lastRemovedId: old[2]!.id, lastRemovedHash: old[2]!.hash },
      };
      await tx
        .update(auditEvents)
        .set({ ...forged, hash: computeAuditHash(forged) })
        .where(eq(auditEvents.id, victim.id));
    });

    const report = await inspectAuditChain(db);
    expect(report.anchor?.recordId).toBe(old[5]!.id);
    expect(report.firstBroken).toEqual({ id: old[6]!.id, reason: "prev_hash_mismatch" });
  });

  it("names a removed row put back before the cut", async () => {
    const old = await seedOldRows(6);
    await pruneAuditLog(db, { before: daysAgo(3.5), actor: admin });

    // Put the last removed row back: it links to the row before it, which
    // is gone, so it cannot be the start of the pruned chain.
    await tamper((tx) => tx.insert(auditEvents).values(old[2]!));

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: old[2]!.id, reason: "prev_hash_mismatch" });
  });
});

describe("pruning with concurrent appends", () => {
  it("keeps one chain with 6 writers", async () => {
    await seedOldRows(50);
    const writers = 6;
    const rowsPerWriter = 30;
    const connections = Array.from({ length: writers }, () => createDb(testDatabaseUrl()));

    let result: Awaited<ReturnType<typeof pruneAuditLog>> | undefined;
    try {
      const appends = connections.map(async (connection, writer) => {
        for (let i = 0; i < rowsPerWriter; i++) {
          await recordAuditEvent(connection, {
            actor: { system: `writer-${writer}` },
            action: "bench.append",
            params: { writer, i },
            result: "success",
          });
        }
      });
      // Start the prune once the writers are under way.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const prune = pruneAuditLog(db, { before: daysAgo(10.5), actor: admin }).then((value) => {
        result = value;
      });
      await Promise.all([...appends, prune]);
    } finally {
      await Promise.all(connections.map((connection) => closeDb(connection)));
    }

    expect(result?.rows).toBe(40);
    const rows = await allRows();
    expect(rows).toHaveLength(10 + writers * rowsPerWriter + 2);
    for (let writer = 0; writer < writers; writer++) {
      const own = rows.filter((row) => row.actor === `system:writer-${writer}`);
      expect(own.map((row) => row.params?.i)).toEqual(own.map((_, index) => index));
    }
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toBeNull();
    expect(report.checkedRows).toBe(rows.length);
    expect(report.anchor?.recordId).toBe(result?.record.id);
  });
});
