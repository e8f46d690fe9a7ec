import { randomUUID } from "node:crypto";

import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb } from "@/lib/db/test-database";
import type { LxdOperation } from "@/lib/lxd";

import {
  applyOperationEvent,
  listOperationHistory,
  recordOperationOutcome,
  recordStartedOperation,
  type OperationOwner,
} from "./operations";
import type { OperationProgress } from "./watcher";

// Runs against the real Postgres at DATABASE_URL.
let db: Db;

function lxdOperation(id: string): LxdOperation {
  return {
    id,
    class: "task",
    description: "Migrating instance",
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    status: "Running",
    status_code: 103,
    resources: { instances: ["/1.0/instances/web"] },
    metadata: null,
    may_cancel: false,
    err: "",
    location: "none",
  };
}

function progressEvent(id: string, fields: Partial<OperationProgress>): OperationProgress {
  return {
    host: "alpha",
    id,
    description: "Migrating instance",
    status: "Running",
    progress: null,
    instances: ["/1.0/instances/web"],
    mayCancel: false,
    createdAt: null,
    error: null,
    ...fields,
  };
}

describe("operation history", () => {
  let owner: OperationOwner;

  beforeAll(async () => {
    db = await openTestDb();
  });

  beforeEach(async () => {
    await db.execute(sql`truncate operation_history restart identity`);
    owner = {
      db,
      actor: "admin@console.localhost",
      correlationId: randomUUID(),
      action: "instance.migrate",
      project: "default",
      instance: "web",
    };
  });

  afterAll(async () => {
    await closeDb(db);
  });

  it("records a started operation as running", async () => {
    const id = randomUUID();
    await recordStartedOperation(owner, "alpha", lxdOperation(id));

    const [row] = await listOperationHistory(db, { limit: 5 });
    expect(row?.lxdOperationId).toBe(id);
    expect(row?.status).toBe("running");
    expect(row?.actor).toBe(owner.actor);
    expect(row?.correlationId).toBe(owner.correlationId);
    expect(row?.action).toBe("instance.migrate");
    expect(row?.finishedAt).toBeNull();
  });

  it("applies progress then the final event", async () => {
    const id = randomUUID();
    await recordStartedOperation(owner, "alpha", lxdOperation(id));

    await applyOperationEvent(db, progressEvent(id, { progress: "web: 5MB (1MB/s)", mayCancel: true }));
    let [row] = await listOperationHistory(db, { limit: 1 });
    expect(row?.progress).toBe("web: 5MB (1MB/s)");
    expect(row?.mayCancel).toBe(true);
    expect(row?.status).toBe("running");

    await applyOperationEvent(db, progressEvent(id, { status: "Failure", error: "migration dump failed" }));
    [row] = await listOperationHistory(db, { limit: 1 });
    expect(row?.status).toBe("failure");
    expect(row?.error).toBe("migration dump failed");
    expect(row?.mayCancel).toBe(false);
    expect(row?.finishedAt).toBeInstanceOf(Date);
  });

  it("keeps a final status against late events", async () => {
    const id = randomUUID();
    await recordStartedOperation(owner, "alpha", lxdOperation(id));
    await recordOperationOutcome(db, "alpha", id, { status: "cancelled", error: null });

    await applyOperationEvent(db, progressEvent(id, { status: "Success" }));
    const [row] = await listOperationHistory(db, { limit: 1 });
    expect(row?.status).toBe("cancelled");
  });

  it("ignores operations the console did not start", async () => {
    await applyOperationEvent(db, progressEvent(randomUUID(), { status: "Success" }));
    expect(await listOperationHistory(db, { limit: 5 })).toEqual([]);
  });

  it("pages by id and filters by status", async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await recordStartedOperation(owner, "alpha", lxdOperation(id));
    await recordOperationOutcome(db, "alpha", ids[0]!, { status: "success", error: null });

    const first = await listOperationHistory(db, { limit: 2 });
    expect(first.map((row) => row.lxdOperationId)).toEqual([ids[2], ids[1]]);
    const older = await listOperationHistory(db, { limit: 2, beforeId: first[1]!.id });
    expect(older.map((row) => row.lxdOperationId)).toEqual([ids[0]]);
    const running = await listOperationHistory(db, { limit: 5, status: "running" });
    expect(running).toHaveLength(2);
  });
});
