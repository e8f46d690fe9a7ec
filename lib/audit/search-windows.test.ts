import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";

import { listAuditEvents } from "./audit";
import type { AuditFilters } from "./filters";

// A full-text search reads the newest 10,000 ids, then 100,000 more, then
// the rest (listInIdWindows in audit.ts). These pages cross those windows,
// so each must match the rows a plain scan of the seeded ids would pick.

const ROWS = 130_000;
const start = Date.UTC(2026, 0, 1);

/** Returns the `at` of row `id`, one row a minute from `start`. */
function rowTime(id: number): Date {
  return new Date(start + id * 60_000);
}

// Every 700th row timed out; "vanished" is in rows 5 and 6 only; every
// 3,000th row below 100,000 names a lost disk.
function errorOf(id: number): string | null {
  if (id === 5 || id === 6) return "instance vanished";
  if (id % 3000 === 0 && id < 100_000) return "disk lost";
  if (id % 700 === 0) return "Operation timed out after 30 s";
  return null;
}

function idsWhere(predicate: (id: number) => boolean, from = ROWS, to = 1): number[] {
  const ids: number[] = [];
  const step = from >= to ? -1 : 1;
  for (let id = from; step < 0 ? id >= to : id <= to; id += step) if (predicate(id)) ids.push(id);
  return ids;
}

let db: Db;

beforeAll(async () => {
  db = await openTestDb();
  await truncateTables(db);
  // Listing does not check hashes, so the rows are made in bulk.
  await db.execute(sql`alter table audit_events disable trigger user`);
  await db.execute(sql`
    insert into audit_events (id, at, phase, actor, action, result, error, params, hash)
    select id, ${new Date(start).toISOString()}::timestamptz + id * interval '1 minute',
      'event', 'system:seed', 'instance.start', 'success',
      case when id in (5, 6) then 'instance vanished'
           when id % 3000 = 0 and id < 100000 then 'disk lost'
           when id % 700 = 0 then 'Operation timed out after 30 s' end,
      jsonb_build_object('n', id), 'seed'
    from generate_series(1, ${ROWS}) as id`);
  await db.execute(sql`alter table audit_events enable trigger user`);
  await db.execute(sql`analyze audit_events`);
});

afterAll(async () => {
  await truncateTables(db);
  await closeDb(db);
});

async function ids(params: { filters: AuditFilters; limit?: number; beforeId?: number; afterId?: number }) {
  const rows = await listAuditEvents(db, { limit: 100, ...params });
  return rows.map((row) => row.id);
}

describe("full-text search in id windows", () => {
  it("fills a page of a common word from the first windows", async () => {
    const timedOut = (id: number) => errorOf(id)?.includes("timed out") ?? false;

    expect(await ids({ filters: { q: "timed out" } })).toEqual(idsWhere(timedOut).slice(0, 100));
    expect(await ids({ filters: { q: "timed out" }, beforeId: 50_001 })).toEqual(
      idsWhere(timedOut, 50_000).slice(0, 100),
    );
  });

  it("finds a rare word past the windows", async () => {
    expect(await ids({ filters: { q: "vanished" } })).toEqual([6, 5]);
    expect(await ids({ filters: { q: "vanished" }, limit: 1 })).toEqual([6]);
    expect(await ids({ filters: { q: "nowhere" } })).toEqual([]);
  });

  it("collects a page from several windows", async () => {
    const diskLost = (id: number) => errorOf(id) === "disk lost";

    expect(await ids({ filters: { q: "disk lost" } })).toEqual(idsWhere(diskLost));
    expect(await ids({ filters: { q: "disk" }, limit: 20 })).toEqual(idsWhere(diskLost).slice(0, 20));
  });

  it("walks up from afterId, nearest rows first, newest first in the page", async () => {
    const timedOut = (id: number) => errorOf(id)?.includes("timed out") ?? false;

    expect(await ids({ filters: { q: "timed out" }, afterId: 1000, limit: 30 })).toEqual(
      idsWhere(timedOut, 1001, ROWS).slice(0, 30).reverse(),
    );
  });

  it("keeps to a time range", async () => {
    const from = rowTime(20_000);
    const to = new Date(rowTime(90_000).getTime() + 1);
    const inRange = (id: number) => id >= 20_000 && id <= 90_000 && errorOf(id) === "disk lost";

    expect(await ids({ filters: { q: "disk", from, to } })).toEqual(idsWhere(inRange));
  });
});
