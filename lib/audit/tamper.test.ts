import { asc, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";

import { closeDb, createDb, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { testDatabaseUrl } from "@/lib/db/test-database";
import { tamperWithAuditLog, setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { recordAuditEvent, type AuditEvent } from "./audit";
import { computeAuditHash, inspectAuditChain, verifyAuditChain } from "./hash";

// Tampering as a database superuser would do it: the append-only trigger is
// switched off for one transaction, the rows are changed, and it is switched
// back on before commit.

const ops = { id: "user-1", email: "ops@example.com" };

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function appendRows(count: number): Promise<AuditEvent[]> {
  const rows: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    rows.push(
      await recordAuditEvent(db, {
        actor: ops,
        action: "instance.start",
        host: "local",
        project: "default",
        instance: `web-${i}`,
        params: { i },
        result: "success",
      }),
    );
  }
  return rows;
}

function tamper(change: (tx: Db) => Promise<unknown>): Promise<void> {
  return tamperWithAuditLog(db, change);
}

async function allRows(): Promise<AuditEvent[]> {
  return db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

describe("audit chain tampering", () => {
  it("leaves the trigger enabled after tampering", async () => {
    await appendRows(1);
    await tamper(() => Promise.resolve());

    await expect(db.delete(auditEvents)).rejects.toThrow();
    expect(await allRows()).toHaveLength(1);
  });

  it("names a changed row", async () => {
    const rows = await appendRows(5);

    await tamper((tx) =>
      tx.update(auditEvents).set({ error: "nothing happened" }).where(eq(auditEvents.id, rows[2]!.id)),
    );

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: rows[2]!.id, reason: "hash_mismatch" });
    expect(report.checkedRows).toBe(3);
    expect(await verifyAuditChain(db)).toBe(rows[2]!.id);
  });

  it("names the row after a changed row whose hash was recomputed", async () => {
    const rows = await appendRows(5);
    const forged = { ...rows[1]!, actor: "someone-else@example.com" };
    const forgedHash = computeAuditHash(forged);

    await tamper((tx) =>
      tx
        .update(auditEvents)
        .set({ actor: forged.actor, hash: forgedHash })
        .where(eq(auditEvents.id, rows[1]!.id)),
    );

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: rows[2]!.id, reason: "prev_hash_mismatch" });
  });

  it("names the row after a deleted row", async () => {
    const rows = await appendRows(5);

    await tamper((tx) => tx.delete(auditEvents).where(eq(auditEvents.id, rows[3]!.id)));

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: rows[4]!.id, reason: "prev_hash_mismatch" });
  });

  it("names the first row of a deleted head", async () => {
    const rows = await appendRows(3);

    await tamper((tx) => tx.delete(auditEvents).where(eq(auditEvents.id, rows[0]!.id)));

    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: rows[1]!.id, reason: "prev_hash_mismatch" });
  });

  it("names the first of two reordered rows", async () => {
    const rows = await appendRows(5);
    const [, second, third] = rows;

    // Swap the ids of the second and third rows, which swaps their order.
    await tamper(async (tx) => {
      await tx.update(auditEvents).set({ id: 1_000_000 }).where(eq(auditEvents.id, second!.id));
      await tx.update(auditEvents).set({ id: second!.id }).where(eq(auditEvents.id, third!.id));
      await tx.update(auditEvents).set({ id: third!.id }).where(eq(auditEvents.id, 1_000_000));
    });

    const reordered = await allRows();
    expect(reordered[1]!.hash).toBe(third!.hash);
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: second!.id, reason: "prev_hash_mismatch" });
  });

  it("names the row after an inserted row", async () => {
    const rows = await appendRows(3);
    const inserted = { ...rows[1]!, id: rows[1]!.id, action: "instance.delete" };

    // Make room at the second id by moving the later rows up by one.
    await tamper(async (tx) => {
      await tx.execute(sql`update audit_events set id = id + 100 where id >= ${rows[1]!.id}`);
      await tx.insert(auditEvents).values({ ...inserted, hash: computeAuditHash(inserted) });
    });

    // The forged row links to the first row and hashes correctly, so the
    // break shows at the moved row, whose prev_hash no longer fits.
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toEqual({ id: rows[1]!.id + 100, reason: "prev_hash_mismatch" });
  });

  it("verifies rows with escaped text", async () => {
    const tricky = 'quote " backslash \\ tab \t newline \n bell \u0007 del \u007f line \u2028 emoji \u{1F600} é';
    for (const text of [tricky, "", "null", "\\u0041"]) {
      await recordAuditEvent(db, {
        actor: { id: text, email: text },
        sourceAddress: text,
        action: `instance.${text}`,
        host: text,
        project: text,
        instance: text,
        params: { [text]: text, nested: { z: [text, 1.5, -0, 1e21, null, true], a: {} } },
        result: "failure",
        error: text,
        operationId: text,
        correlationId: "6f1c0f2e-2b7a-4c43-9a57-1d2a3b4c5d6e",
        durationMs: 2_000_000_000,
      });
    }

    expect((await inspectAuditChain(db)).firstBroken).toBeNull();
  });

  it("reports an intact chain with its size", async () => {
    const rows = await appendRows(4);

    const report = await inspectAuditChain(db);
    expect(report).toEqual({ checkedRows: 4, lastId: rows[3]!.id, firstBroken: null, anchor: null });
  });
});

describe("concurrent appends", () => {
  it("keep one chain with 20 writers of 50 rows", async () => {
    const writers = 20;
    const rowsPerWriter = 50;
    const connections = Array.from({ length: writers }, () => createDb(testDatabaseUrl()));

    try {
      await Promise.all(
        connections.map(async (connection, writer) => {
          for (let i = 0; i < rowsPerWriter; i++) {
            await recordAuditEvent(connection, {
              actor: { system: `writer-${writer}` },
              action: "bench.append",
              params: { writer, i },
              result: "success",
            });
          }
        }),
      );
    } finally {
      await Promise.all(connections.map((connection) => closeDb(connection)));
    }

    const rows = await allRows();
    expect(rows).toHaveLength(writers * rowsPerWriter);
    expect(rows.map((row) => row.id)).toEqual(rows.map((_, index) => index + 1));
    expect(new Set(rows.map((row) => row.prevHash)).size).toBe(rows.length);
    for (let writer = 0; writer < writers; writer++) {
      const own = rows.filter((row) => row.actor === `system:writer-${writer}`);
      expect(own.map((row) => row.params?.i)).toEqual(own.map((_, index) => index));
    }
    expect(await inspectAuditChain(db)).toEqual({
      checkedRows: writers * rowsPerWriter,
      lastId: writers * rowsPerWriter,
      firstBroken: null,
      anchor: null,
    });
  });
});
