import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, desc, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { closeDb, createDb, queryRows, type Db } from "@/lib/db/client";
import { migrateDb } from "@/lib/db/migrate";
import { auditEvents } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";

import { loadAuditActivity } from "./activity";
import { recordAuditEvent, type AuditEvent, type AuditEventInput } from "./audit";
import { loadAuditPage } from "./audit-page";
import {
  auditFilterConditions,
  auditFiltersToQuery,
  parseAuditFilters,
  type AuditFilters,
} from "./filters";

const ops = { id: "user-1", email: "ops@example.com" };

// Rows in insertion order; tests refer to them by their `tag` param.
const seed: AuditEventInput[] = [
  { actor: ops, action: "instance.start", host: "local", project: "default", instance: "web-1", params: { tag: "a", force: false }, result: "success" },
  { actor: ops, action: "vnc.view.open", host: "local", project: "default", instance: "web-1", params: { tag: "b", mode: "view" }, result: "success" },
  { actor: { lxd: "root" }, action: "lxd.instance-stopped", host: "remote", project: "default", instance: "web-1", params: { tag: "c" }, result: "success" },
  { actor: ops, action: "vnc.control.take", host: "local", project: "lab", instance: "db-1", params: { tag: "d" }, result: "refused", error: "Permission denied for support" },
  { actor: { anonymous: true }, action: "auth.sign_in", params: { tag: "e", email: "eve@example.com" }, result: "failure", error: "Invalid password" },
  { actor: ops, action: "vncxview.open", host: "local", project: "default", instance: "web-1", params: { tag: "f" }, result: "success" },
  { actor: ops, action: "instance.snapshot", host: "local", project: "default", instance: "web-1", params: { tag: "g", snapshot: "before-upgrade" }, result: "failure", error: "Operation timed out after 30 s" },
];

function tags(rows: AuditEvent[]): unknown[] {
  return rows.map((row) => row.params?.tag);
}

async function matching(db: Db, filters: AuditFilters): Promise<unknown[]> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...auditFilterConditions(filters)))
    .orderBy(desc(auditEvents.id));
  return tags(rows);
}

describe("parseAuditFilters", () => {
  it("treats blank values as absent", () => {
    expect(parseAuditFilters({ actor: "", q: "  ", result: undefined })).toEqual({});
  });

  it("reads times without a zone as UTC", () => {
    const filters = parseAuditFilters({ from: "2026-12-04T17:30", to: "2026-12-05" });

    expect(filters.from?.toISOString()).toBe("2026-12-04T17:30:00.000Z");
    expect(filters.to?.toISOString()).toBe("2026-12-05T00:00:00.000Z");
  });

  it("keeps an explicit zone", () => {
    const filters = parseAuditFilters({ from: "2026-12-04T17:30:00+02:00" });
    expect(filters.from?.toISOString()).toBe("2026-12-04T15:30:00.000Z");
  });

  it("names a bad time", () => {
    expect(() => parseAuditFilters({ from: "yesterday" })).toThrow(ConsoleError);
    expect(() => parseAuditFilters({ from: "yesterday" })).toThrow(
      'Invalid value "yesterday" for "from": expected a time such as 2026-12-04T17:30 (UTC).',
    );
  });

  it("rejects a range that ends before it starts", () => {
    expect(() => parseAuditFilters({ from: "2026-12-05", to: "2026-12-04" })).toThrow(
      '"from" must be earlier than "to".',
    );
  });

  it("rejects an unknown result", () => {
    expect(() => parseAuditFilters({ result: "maybe" })).toThrow(/"result"/);
  });

  it("round-trips through the URL query", () => {
    const filters = parseAuditFilters({
      from: "2026-12-04T17:30",
      actor: "lxd:root",
      action: "vnc.",
      result: "refused",
      q: "timed out",
    });
    const query = auditFiltersToQuery(filters);

    expect(query.toString()).toBe(
      "from=2026-12-04T17%3A30%3A00.000Z&actor=lxd%3Aroot&action=vnc.&result=refused&q=timed+out",
    );
    expect(parseAuditFilters(Object.fromEntries(query))).toEqual(filters);
  });
});

let pgliteFolder = "";

async function openPglite(): Promise<Db> {
  pgliteFolder = mkdtempSync(path.join(tmpdir(), "audit-filters-pglite-"));
  const db = createDb(undefined, { pgliteDir: pgliteFolder });
  await migrateDb(db);
  return db;
}

function removePgliteFolder(): void {
  rmSync(pgliteFolder, { recursive: true, force: true });
}

const drivers = [
  ["Postgres", openTestDb, () => undefined],
  ["PGlite", openPglite, removePgliteFolder],
] as const;

describe.each(drivers)("audit filters on %s", (_driver, open, cleanUp) => {
  let db: Db;
  let rows: AuditEvent[];

  beforeAll(async () => {
    db = await open();
    await truncateTables(db);
    rows = [];
    for (const event of seed) rows.push(await recordAuditEvent(db, event));
  });

  afterAll(async () => {
    await closeDb(db);
    cleanUp();
  });

  it("matches an exact actor", async () => {
    expect(await matching(db, { actor: "lxd:root" })).toEqual(["c"]);
    expect(await matching(db, { actor: "ops@example" })).toEqual([]);
  });

  it("matches an action prefix", async () => {
    expect(await matching(db, { action: "vnc." })).toEqual(["d", "b"]);
    expect(await matching(db, { action: "lxd." })).toEqual(["c"]);
  });

  it("treats LIKE wildcards in the prefix literally", async () => {
    expect(await matching(db, { action: "vnc_" })).toEqual([]);
    expect(await matching(db, { action: "%view" })).toEqual([]);
  });

  it("matches result, host, project and instance", async () => {
    expect(await matching(db, { result: "failure" })).toEqual(["g", "e"]);
    expect(await matching(db, { host: "remote" })).toEqual(["c"]);
    expect(await matching(db, { project: "lab" })).toEqual(["d"]);
    expect(await matching(db, { instance: "web-1", host: "local" })).toEqual(["g", "f", "b", "a"]);
  });

  it("searches words in params and errors", async () => {
    expect(await matching(db, { q: "timed out" })).toEqual(["g"]);
    expect(await matching(db, { q: "before-upgrade" })).toEqual(["g"]);
    expect(await matching(db, { q: "eve@example.com" })).toEqual(["e"]);
    expect(await matching(db, { q: "permission" })).toEqual(["d"]);
    expect(await matching(db, { q: "denied -support" })).toEqual([]);
    expect(await matching(db, { q: "nowhere" })).toEqual([]);
  });

  it("matches a time range with from inclusive and to exclusive", async () => {
    const third = rows[2]!;
    const fifth = rows[4]!;

    const found = await matching(db, { from: third.at, to: fifth.at });
    const expected = rows
      .filter((row) => row.at >= third.at && row.at < fifth.at)
      .map((row) => row.params?.tag)
      .reverse();
    expect(found).toEqual(expected);
    expect(found).toContain("c");
    expect(found).not.toContain("e");
  });

  it("combines filters with AND", async () => {
    expect(await matching(db, { actor: "ops@example.com", result: "failure" })).toEqual(["g"]);
  });

  it("pages through matching rows by keyset", async () => {
    const filters: AuditFilters = { instance: "web-1" };

    const first = await loadAuditPage(db, { filters }, 2);
    expect(tags(first.rows)).toEqual(["g", "f"]);
    expect(first.newerAfter).toBeNull();
    expect(first.olderBefore).toBe(rows[5]!.id);

    const second = await loadAuditPage(db, { before: first.olderBefore!, filters }, 2);
    expect(tags(second.rows)).toEqual(["c", "b"]);

    const third = await loadAuditPage(db, { before: second.olderBefore!, filters }, 2);
    expect(tags(third.rows)).toEqual(["a"]);
    expect(third.olderBefore).toBeNull();

    const back = await loadAuditPage(db, { after: third.newerAfter!, filters }, 2);
    expect(tags(back.rows)).toEqual(["c", "b"]);
  });

  it("counts activity per hour for the filtered rows", async () => {
    const now = new Date(Date.now() + 60_000);

    const all = await loadAuditActivity(db, {}, now);
    const vnc = await loadAuditActivity(db, { action: "vnc." }, now);

    expect(all.unit).toBe("day");
    expect(all.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(seed.length);
    expect(vnc.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(2);
    expect(vnc.buckets.at(-1)!.start.getTime()).toBeLessThanOrEqual(now.getTime());

    const hourly = await loadAuditActivity(db, { from: new Date(now.getTime() - 3_600_000 * 5) }, now);
    expect(hourly.unit).toBe("hour");
    expect(hourly.buckets).toHaveLength(6);
    expect(hourly.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(seed.length);
  });

  it("uses the GIN index for search", async () => {
    await db.execute(sql`set enable_seqscan = off`);
    try {
      const where = and(...auditFilterConditions({ q: "timed" }));
      const plan = await queryRows<Record<string, string>>(
        db,
        sql`explain select id from audit_events where ${where}`,
      );
      expect(plan.map((row) => Object.values(row)[0]).join("\n")).toContain("audit_events_search_idx");
    } finally {
      await db.execute(sql`reset enable_seqscan`);
    }
  });
});
