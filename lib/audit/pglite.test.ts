import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, dbDriver, type Db } from "@/lib/db/client";
import { migrateDb } from "@/lib/db/migrate";
import { auditEvents } from "@/lib/db/schema";
import { listAuditEvents, recordAuditEvent, runAudited } from "./audit";
import { inspectAuditChain, verifyAuditChain } from "./hash";
import { pruneAuditLog } from "./prune";

// The same audit path on PGlite, the store used when DATABASE_URL is unset.

let folder: string;
let db: Db;

beforeAll(async () => {
  folder = mkdtempSync(path.join(tmpdir(), "sandbox-console-pglite-"));
  db = createDb(undefined, { pgliteDir: path.join(folder, "pglite") });
  await migrateDb(db);
});

afterAll(async () => {
  await closeDb(db);
  rmSync(folder, { recursive: true, force: true });
});

describe("audit on PGlite", () => {
  it("opens PGlite when given a folder", () => {
    expect(dbDriver(db)).toBe("pglite");
  });

  it("migrates again without error", async () => {
    await expect(migrateDb(db)).resolves.toBeUndefined();
  });

  it("appends, lists and verifies", async () => {
    const actor = { id: "user-1", email: "ops@example.com" };

    await runAudited(
      db,
      { actor, action: "instance.stop", instance: "a" },
      (ctx) => {
        ctx.setOperationId("op-1");
        return Promise.resolve();
      },
    );
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        recordAuditEvent(db, {
          actor,
          action: "instance.read",
          params: { i },
          result: "success",
        }),
      ),
    );

    const rows = await listAuditEvents(db, { limit: 100 });
    expect(rows).toHaveLength(12);
    expect(rows.at(-1)?.phase).toBe("intent");
    expect(rows.at(-2)?.operationId).toBe("op-1");
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it("rejects DELETE through the trigger", async () => {
    const error = await db.delete(auditEvents).then(
      () => null,
      (e: unknown) => e as Error,
    );
    const cause = error?.cause instanceof Error ? error.cause : error;

    expect(cause?.message).toBe(
      "audit_events is append-only: DELETE is not allowed",
    );
  });

  it("prunes and verifies from the cut", async () => {
    // The rows of the test above may share this millisecond, which the cut
    // point would then keep.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const before = new Date();
    await recordAuditEvent(db, { actor: { system: "pglite-test" }, action: "instance.read", result: "success" });

    const result = await pruneAuditLog(db, { before, actor: { id: "user-1", email: "ops@example.com" } });

    expect(result.rows).toBe(12);
    const report = await inspectAuditChain(db);
    expect(report.firstBroken).toBeNull();
    expect(report.anchor?.recordId).toBe(result.record.id);
    expect(report.checkedRows).toBe(3);
  });

  it("detects tampering", async () => {
    await db.execute(
      sql`alter table audit_events disable trigger audit_events_append_only`,
    );
    await db.execute(
      sql`update audit_events set error = 'edited' where id = 14`,
    );
    await db.execute(
      sql`alter table audit_events enable trigger audit_events_append_only`,
    );

    expect(await verifyAuditChain(db)).toBe(14);
  });
});
