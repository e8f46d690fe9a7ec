import { beforeAll, describe, expect, it } from "vitest";
import { type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";
import { ConsoleError } from "@/lib/errors";
import type { ConsoleUser } from "./permissions";
import { authorize, sourceAddressFromHeaders } from "./request-user";

const auditor: ConsoleUser = {
  id: "user-7",
  email: "auditor@example.com",
  name: "Auditor",
  role: "auditor",
  grants: [],
};

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

async function errorOf(promise: Promise<unknown>): Promise<ConsoleError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsoleError)) {
    throw new Error(`expected a ConsoleError, got ${String(error)}`);
  }
  return error;
}

describe("authorize", () => {
  it("returns a permitted user", async () => {
    const user = await authorize(auditor, "audit:read", "10.0.0.1", db);

    expect(user).toBe(auditor);
    expect(await db.select().from(auditEvents)).toHaveLength(0);
  });

  it("rejects a missing user", async () => {
    const error = await errorOf(authorize(null, "instance:read", null, db));

    expect(error.code).toBe("unauthenticated");
    expect(await db.select().from(auditEvents)).toHaveLength(0);
  });

  it("rejects and audits a forbidden permission", async () => {
    const error = await errorOf(
      authorize(auditor, "instance:operate", "10.0.0.1", db),
    );
    const rows = await db.select().from(auditEvents);

    expect(error.code).toBe("forbidden");
    expect(error.message).toContain("auditor");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.result).toBe("refused");
    expect(rows[0]?.actorId).toBe("user-7");
    expect(rows[0]?.sourceAddress).toBe("10.0.0.1");
    expect(rows[0]?.params).toEqual({
      permission: "instance:operate",
      role: "auditor",
    });
  });
});

describe("sourceAddressFromHeaders", () => {
  it("returns X-Forwarded-For", () => {
    const headers = new Headers({ "x-forwarded-for": " 10.0.0.1, 10.0.0.2 " });

    expect(sourceAddressFromHeaders(headers)).toBe("10.0.0.1, 10.0.0.2");
  });

  it("returns null without the header", () => {
    expect(sourceAddressFromHeaders(new Headers())).toBeNull();
  });
});
