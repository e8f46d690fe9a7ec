import { asc } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";

import { type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { listAuditEvents, recordAuditEvent, type AuditEventInput } from "./audit";
import type { AuditFilters } from "./filters";
import { inspectAuditChain } from "./hash";

const event: AuditEventInput = {
  actor: { system: "append-test" },
  action: "instance.start",
  result: "success",
};

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function allRows() {
  return db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

describe("batched appends", () => {
  it("resolves each caller with its own row", async () => {
    const rows = await Promise.all(
      Array.from({ length: 300 }, (_, i) => recordAuditEvent(db, { ...event, params: { i } })),
    );

    expect(rows.map((row) => row.params?.i)).toEqual(rows.map((_, i) => i));
    expect(rows.map((row) => row.id)).toEqual(rows.map((_, i) => i + 1));
    expect(await inspectAuditChain(db)).toEqual({ checkedRows: 300, lastId: 300, firstBroken: null, anchor: null });
  });

  it("fails only the bad row of a batch", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        recordAuditEvent(db, {
          ...event,
          params: { i },
          // The result check constraint rejects this row.
          result: i === 4 ? ("bogus" as never) : "success",
        }),
      ),
    );

    expect(results.map((result) => result.status)).toEqual(
      results.map((_, i) => (i === 4 ? "rejected" : "fulfilled")),
    );
    const rows = await allRows();
    expect(rows.map((row) => row.params?.i)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    expect((await inspectAuditChain(db)).firstBroken).toBeNull();
  });
});

describe("append time", () => {
  it("never goes before the previous row", async () => {
    const future = new Date(Date.now() + 3_600_000);
    await db.insert(auditEvents).values({
      at: future,
      phase: "event",
      actor: "system:clock",
      action: "clock.ahead",
      result: "success",
      hash: "not-checked-here",
    });

    const row = await recordAuditEvent(db, event);

    expect(row.at.getTime()).toBe(future.getTime());
  });
});

describe("time filters as id ranges", () => {
  it("match rows at the edges of the log", async () => {
    const first = await recordAuditEvent(db, event);
    const second = await recordAuditEvent(db, event);
    const later = new Date(second.at.getTime() + 1);

    const list = async (filters: AuditFilters) =>
      (await listAuditEvents(db, { limit: 10, filters })).map((row) => row.id);

    expect(await list({ from: later })).toEqual([]);
    expect(await list({ from: first.at, to: later })).toEqual([second.id, first.id]);
    expect(await list({ to: first.at })).toEqual([]);
    expect(await list({ from: second.at })).toEqual(
      [second, first].filter((row) => row.at >= second.at).map((row) => row.id),
    );
  });
});
