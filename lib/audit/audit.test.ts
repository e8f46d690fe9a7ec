import { createServer } from "node:net";
import { asc, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { closeDb, createDb, queryRows, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { testDatabaseUrl } from "@/lib/db/test-database";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";
import { ConsoleError } from "@/lib/errors";
import {
  listAuditEvents,
  recordAuditEvent,
  runAudited,
  UNKNOWN_OUTCOME,
  type AuditTarget,
} from "./audit";
import { canonicalJson, verifyAuditChain } from "./hash";
import { countOwedAuditRows, settleOwedAuditRows } from "./owed-rows";

const target: AuditTarget = {
  actor: { id: "user-1", email: "ops@example.com" },
  sourceAddress: "127.0.0.1",
  action: "instance.start",
  host: "local",
  project: "default",
  instance: "sandbox-1",
  params: { force: false },
};

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function allRows() {
  return db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

/** Returns a loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  if (address === null || typeof address === "string") {
    throw new Error("expected a TCP address");
  }
  return address.port;
}

/** Returns the database's own error message, which drizzle wraps as the cause. */
async function databaseError(query: Promise<unknown>): Promise<string> {
  const error = await query.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("expected the query to fail");
  return error.cause instanceof Error ? error.cause.message : error.message;
}

// Both triggers go off: with only the append-only one disabled, the
// pruning check still rejects a DELETE that did not declare a cut.
async function withTriggerDisabled(change: () => Promise<unknown>) {
  await db.execute(sql`alter table audit_events disable trigger user`);
  try {
    await change();
  } finally {
    await db.execute(sql`alter table audit_events enable trigger user`);
  }
}

describe("runAudited", () => {
  it("writes intent and outcome rows on success", async () => {
    const result = await runAudited(db, target, (ctx) => {
      ctx.setOperationId("op-123");
      return Promise.resolve("done");
    });

    expect(result).toBe("done");
    const rows = await allRows();
    expect(rows).toHaveLength(2);

    const [intent, outcome] = rows;
    expect(intent?.phase).toBe("intent");
    expect(intent?.result).toBe("pending");
    expect(intent?.operationId).toBeNull();
    expect(intent?.durationMs).toBeNull();
    expect(outcome?.phase).toBe("outcome");
    expect(outcome?.result).toBe("success");
    expect(outcome?.operationId).toBe("op-123");
    expect(outcome?.durationMs).toBeGreaterThanOrEqual(0);
    expect(outcome?.error).toBeNull();
    expect(intent?.correlationId).toBeTruthy();
    expect(outcome?.correlationId).toBe(intent?.correlationId);
  });

  it("passes the correlation id to fn", async () => {
    let seen = "";
    await runAudited(db, target, (ctx) => {
      seen = ctx.correlationId;
      return Promise.resolve();
    });

    const [intent] = await allRows();
    expect(seen).toBe(intent?.correlationId);
  });

  it("stores the target fields on both rows", async () => {
    await runAudited(db, target, () => Promise.resolve());

    for (const row of await allRows()) {
      expect(row.actorId).toBe("user-1");
      expect(row.actor).toBe("ops@example.com");
      expect(row.sourceAddress).toBe("127.0.0.1");
      expect(row.action).toBe("instance.start");
      expect(row.host).toBe("local");
      expect(row.project).toBe("default");
      expect(row.instance).toBe("sandbox-1");
      expect(row.params).toEqual({ force: false });
    }
  });

  it("records failure and rethrows fn's error", async () => {
    const failure = new Error("LXD said no");

    await expect(
      runAudited(db, target, (ctx) => {
        ctx.setOperationId("op-456");
        return Promise.reject(failure);
      }),
    ).rejects.toBe(failure);

    const [intent, outcome] = await allRows();
    expect(intent?.result).toBe("pending");
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toBe("LXD said no");
    expect(outcome?.operationId).toBe("op-456");
    expect(outcome?.durationMs).toBeGreaterThanOrEqual(0);
    expect(outcome?.correlationId).toBe(intent?.correlationId);
  });

  it("refuses the action when the audit store is down", async () => {
    const port = await closedPort();
    const downDb = createDb(`postgres://postgres@127.0.0.1:${port}/test`);
    const fn = vi.fn(() => Promise.resolve("performed"));

    try {
      const error = await runAudited(downDb, target, fn).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as ConsoleError).code).toBe("audit_unavailable");
      expect((error as ConsoleError).message).toContain("not performed");
      expect((error as ConsoleError).message).toContain("DATABASE_URL");
      expect(fn).not.toHaveBeenCalled();
    } finally {
      await closeDb(downDb);
    }
  });

  it("returns fn's result when the outcome write fails", async () => {
    // Closing the pool inside fn makes the outcome insert fail after the
    // intent row is already written.
    const shortLivedDb = createDb(testDatabaseUrl());

    const result = await runAudited(shortLivedDb, target, async () => {
      await closeDb(shortLivedDb);
      return 42;
    });

    expect(result).toBe(42);
    const rows = await allRows();
    expect(rows.map((row) => row.phase)).toEqual(["intent"]);
  });
});

describe("audit_events append-only trigger", () => {
  it("rejects UPDATE", async () => {
    await recordAuditEvent(db, { ...target, result: "success" });

    const message = await databaseError(
      db.update(auditEvents).set({ action: "instance.delete" }),
    );
    expect(message).toBe("audit_events is append-only: UPDATE is not allowed");
  });

  it("rejects DELETE", async () => {
    await recordAuditEvent(db, { ...target, result: "success" });

    const message = await databaseError(db.delete(auditEvents));
    expect(message).toBe("audit_events is append-only: DELETE is not allowed");
    expect(await allRows()).toHaveLength(1);
  });
});

describe("verifyAuditChain", () => {
  it("returns null for an empty log", async () => {
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it("returns null for an intact chain", async () => {
    for (let i = 0; i < 5; i++) {
      await runAudited(db, { ...target, params: { i, at: new Date(0) } }, () =>
        Promise.resolve(i),
      );
    }

    expect(await verifyAuditChain(db)).toBeNull();
  });

  it("links each row to the previous hash", async () => {
    await recordAuditEvent(db, { ...target, result: "success" });
    await recordAuditEvent(db, { ...target, result: "refused" });

    const [first, second] = await allRows();
    expect(first?.prevHash).toBeNull();
    expect(second?.prevHash).toBe(first?.hash);
  });

  it("detects a row changed with the trigger disabled", async () => {
    for (let i = 0; i < 3; i++) {
      await recordAuditEvent(db, {
        ...target,
        result: "success",
        params: { i },
      });
    }
    const [, middle] = await allRows();

    await withTriggerDisabled(() =>
      db
        .update(auditEvents)
        .set({ actor: "someone-else@example.com" })
        .where(eq(auditEvents.id, middle!.id)),
    );

    expect(await verifyAuditChain(db)).toBe(middle!.id);
  });

  it("detects a changed params value", async () => {
    await recordAuditEvent(db, {
      ...target,
      result: "success",
      params: { force: false },
    });
    const [row] = await allRows();

    await withTriggerDisabled(() =>
      db.execute(
        sql`update audit_events set params = '{"force": true}'::jsonb`,
      ),
    );

    expect(await verifyAuditChain(db)).toBe(row!.id);
  });

  it("detects a deleted row", async () => {
    for (let i = 0; i < 3; i++) {
      await recordAuditEvent(db, {
        ...target,
        result: "success",
        params: { i },
      });
    }
    const [, middle, last] = await allRows();

    await withTriggerDisabled(() =>
      db.delete(auditEvents).where(eq(auditEvents.id, middle!.id)),
    );

    expect(await verifyAuditChain(db)).toBe(last!.id);
  });

  it("keeps one chain under 50 parallel appends", async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        recordAuditEvent(db, { ...target, result: "success", params: { i } }),
      ),
    );

    const rows = await allRows();
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((row) => row.prevHash)).size).toBe(50);
    expect(await verifyAuditChain(db)).toBeNull();
  });
});

describe("recordAuditEvent", () => {
  it("defaults the phase to event", async () => {
    const row = await recordAuditEvent(db, {
      actor: { lxd: "root" },
      action: "instance.created",
      host: "local",
      project: "default",
      instance: "made-by-cli",
      result: "success",
    });

    expect(row.phase).toBe("event");
    expect(row.actor).toBe("lxd:root");
    expect(row.actorId).toBeNull();
  });

  it("labels system and anonymous actors", async () => {
    const system = await recordAuditEvent(db, {
      actor: { system: "create-admin" },
      action: "user.create",
      result: "success",
    });
    const anonymous = await recordAuditEvent(db, {
      actor: { anonymous: true },
      action: "auth.sign_in",
      result: "failure",
    });

    expect(system.actor).toBe("system:create-admin");
    expect(anonymous.actor).toBe("anonymous");
  });

  it("stores params as a jsonb object", async () => {
    await recordAuditEvent(db, {
      ...target,
      result: "success",
      params: { nested: { b: 1, a: [1, "x"] } },
    });

    const rows = await queryRows(
      db,
      sql`select jsonb_typeof(params) as type from audit_events`,
    );
    expect(rows).toEqual([{ type: "object" }]);
  });
});

describe("listAuditEvents", () => {
  it("pages newest first by id", async () => {
    for (let i = 0; i < 5; i++) {
      await recordAuditEvent(db, {
        ...target,
        result: "success",
        params: { i },
      });
    }

    const first = await listAuditEvents(db, { limit: 2 });
    const second = await listAuditEvents(db, {
      limit: 2,
      beforeId: first.at(-1)!.id,
    });
    const third = await listAuditEvents(db, {
      limit: 2,
      beforeId: second.at(-1)!.id,
    });

    expect(first.map((row) => row.params?.i)).toEqual([4, 3]);
    expect(second.map((row) => row.params?.i)).toEqual([2, 1]);
    expect(third.map((row) => row.params?.i)).toEqual([0]);
  });

  it("pages back to newer rows", async () => {
    for (let i = 0; i < 5; i++) {
      await recordAuditEvent(db, {
        ...target,
        result: "success",
        params: { i },
      });
    }
    const oldest = await listAuditEvents(db, {
      limit: 2,
      beforeId: (await listAuditEvents(db, { limit: 3 })).at(-1)!.id,
    });

    const newer = await listAuditEvents(db, {
      limit: 2,
      afterId: oldest[0]!.id,
    });
    const newest = await listAuditEvents(db, {
      limit: 2,
      afterId: newer[0]!.id,
    });

    expect(oldest.map((row) => row.params?.i)).toEqual([1, 0]);
    expect(newer.map((row) => row.params?.i)).toEqual([3, 2]);
    expect(newest.map((row) => row.params?.i)).toEqual([4]);
  });

  it("filters by instance", async () => {
    await recordAuditEvent(db, { ...target, result: "success" });
    await recordAuditEvent(db, {
      ...target,
      instance: "other",
      result: "success",
    });

    const rows = await listAuditEvents(db, {
      limit: 10,
      host: "local",
      project: "default",
      instance: "other",
    });
    expect(rows.map((row) => row.instance)).toEqual(["other"]);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level", () => {
    expect(
      canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } }),
    ).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
  });

  it("drops undefined fields", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });
});

describe("owed audit rows", () => {
  it("writes unknown outcome at shutdown", async () => {
    let finishAction!: () => void;
    const action = runAudited(db, target, () => new Promise<void>((resolve) => {
      finishAction = resolve;
    }));
    await expect.poll(async () => (await allRows()).length).toBe(1);
    expect(countOwedAuditRows()).toBe(1);

    expect(await settleOwedAuditRows(50)).toBe(1);
    const written = await allRows();
    expect(written.map((row) => [row.phase, row.result])).toEqual([
      ["intent", "pending"],
      ["outcome", "failure"],
    ]);
    expect(written[1]?.error).toBe(UNKNOWN_OUTCOME);
    expect(written[1]?.correlationId).toBe(written[0]?.correlationId);

    // The action's own end afterwards adds no second outcome.
    finishAction();
    await action;
    expect((await allRows()).filter((row) => row.phase === "outcome")).toHaveLength(1);
    expect(countOwedAuditRows()).toBe(0);
  });

  it("waits for a finishing action", async () => {
    const action = runAudited(db, target, async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return "moved";
    });
    await expect.poll(async () => (await allRows()).length).toBe(1);

    expect(await settleOwedAuditRows(5_000)).toBe(0);
    expect(await action).toBe("moved");
    const outcome = (await allRows()).find((row) => row.phase === "outcome");
    expect(outcome?.result).toBe("success");
  });

  it("retries a failed outcome write", async () => {
    // A trigger fails the first outcome insert, as a dropped connection
    // would. The sequence keeps counting when the insert rolls back.
    await db.execute(sql`create sequence if not exists outcome_failures`);
    await db.execute(sql`
      create or replace function fail_first_outcome() returns trigger language plpgsql as $$
      begin
        if new.phase = 'outcome' and nextval('outcome_failures') = 1 then
          raise exception 'simulated outage';
        end if;
        return new;
      end $$`);
    await db.execute(sql`
      create trigger fail_first_outcome before insert on audit_events
      for each row execute function fail_first_outcome()`);
    try {
      expect(await runAudited(db, target, async () => "moved")).toBe("moved");
      // Two outcome inserts: the one that failed and the one that followed.
      const [tries] = await queryRows<{ last_value: string }>(
        db,
        sql`select last_value from outcome_failures`,
      );
      expect(Number(tries?.last_value)).toBe(2);
    } finally {
      await db.execute(sql`drop trigger fail_first_outcome on audit_events`);
      await db.execute(sql`drop function fail_first_outcome()`);
      await db.execute(sql`drop sequence outcome_failures`);
    }

    const written = await allRows();
    expect(written.map((row) => [row.phase, row.result])).toEqual([
      ["intent", "pending"],
      ["outcome", "success"],
    ]);
    expect(await verifyAuditChain(db)).toBeNull();
  });
});
