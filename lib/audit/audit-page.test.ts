import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";

import { recordAuditEvent } from "./audit";
import { loadAuditPage, parseAuditPageQuery } from "./audit-page";

let db: Db;

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  await closeDb(db);
});

function queryError(params: Record<string, string | string[]>): string {
  try {
    parseAuditPageQuery(params);
  } catch (error) {
    expect(error).toBeInstanceOf(ConsoleError);
    return (error as ConsoleError).message;
  }
  throw new Error("parseAuditPageQuery accepted the parameters");
}

describe("parseAuditPageQuery", () => {
  it("reads before and after", () => {
    expect(parseAuditPageQuery({})).toEqual({});
    expect(parseAuditPageQuery({ before: "120" })).toEqual({ before: 120 });
    expect(parseAuditPageQuery({ after: "7" })).toEqual({ after: 7 });
  });

  it("names a bad row id", () => {
    expect(queryError({ before: "abc" })).toBe(
      'Invalid value "abc" for "before": expected an audit row id such as 1234.',
    );
    expect(queryError({ after: "-1" })).toBe(
      'Invalid value "-1" for "after": expected an audit row id such as 1234.',
    );
  });

  it("rejects before and after together", () => {
    expect(queryError({ before: "5", after: "2" })).toBe(
      'Pass "before" or "after", not both.',
    );
  });

  it("rejects a repeated parameter", () => {
    expect(queryError({ before: ["1", "2"] })).toBe(
      'Invalid "before" (a list of 2 items): expected a string.',
    );
  });
});

describe("loadAuditPage", () => {
  let ids: number[];

  beforeEach(async () => {
    await truncateTables(db);
    ids = [];
    for (let i = 0; i < 7; i++) {
      const row = await recordAuditEvent(db, {
        actor: { system: "test" },
        action: "test.event",
        result: "success",
        params: { i },
      });
      ids.push(row.id);
    }
  });

  const order = (rows: Array<{ params: Record<string, unknown> | null }>) =>
    rows.map((row) => row.params?.i);

  it("walks from newest to oldest and back", async () => {
    const newest = await loadAuditPage(db, {}, 3);
    expect(order(newest.rows)).toEqual([6, 5, 4]);
    expect(newest.newerAfter).toBeNull();
    expect(newest.olderBefore).toBe(ids[4]);

    const middle = await loadAuditPage(db, { before: newest.olderBefore! }, 3);
    expect(order(middle.rows)).toEqual([3, 2, 1]);
    expect(middle.newerAfter).toBe(ids[3]);
    expect(middle.olderBefore).toBe(ids[1]);

    const oldest = await loadAuditPage(db, { before: middle.olderBefore! }, 3);
    expect(order(oldest.rows)).toEqual([0]);
    expect(oldest.olderBefore).toBeNull();
    expect(oldest.newerAfter).toBe(ids[0]);

    const back = await loadAuditPage(db, { after: oldest.newerAfter! }, 3);
    expect(order(back.rows)).toEqual([3, 2, 1]);
    expect(back.olderBefore).toBe(ids[1]);
    expect(back.newerAfter).toBe(ids[3]);
  });

  it("returns an empty page past the end", async () => {
    const page = await loadAuditPage(db, { before: ids[0]! }, 3);

    expect(page).toEqual({ rows: [], olderBefore: null, newerAfter: null });
  });
});
