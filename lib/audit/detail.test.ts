import { beforeAll, describe, expect, it } from "vitest";

import { type Db } from "@/lib/db/client";
import { setUpTestDatabase } from "@/lib/db/test-database-hooks";

import { recordAuditEvent, runAudited } from "./audit";
import { diffConfigParams, getAuditEvent, listRelatedAuditEvents } from "./detail";
import { loadInstanceTimeline, parseTimelineQuery } from "./timeline";

const ops = { id: "user-1", email: "ops@example.com" };
const web = { host: "local", project: "default", instance: "web-1" };

const testDb = setUpTestDatabase();
let db: Db;

beforeAll(() => {
  db = testDb();
});

describe("diffConfigParams", () => {
  it("lists added, removed and changed keys", () => {
    const changes = diffConfigParams({
      before: { "limits.cpu": "1", "limits.memory": "1GiB", "user.note": "x" },
      after: { "limits.cpu": "2", "limits.memory": "1GiB", "boot.autostart": "true" },
    });

    expect(changes).toEqual([
      { key: "boot.autostart", change: "added", before: null, after: '"true"' },
      { key: "limits.cpu", change: "changed", before: '"1"', after: '"2"' },
      { key: "user.note", change: "removed", before: '"x"', after: null },
    ]);
  });

  it("compares nested values by content", () => {
    const changes = diffConfigParams({
      before: { devices: { root: { path: "/", pool: "a" } } },
      after: { devices: { root: { pool: "a", path: "/" } } },
    });
    expect(changes).toEqual([]);
  });

  it("returns null without a before/after pair", () => {
    expect(diffConfigParams(null)).toBeNull();
    expect(diffConfigParams({ before: "1", after: "2" })).toBeNull();
    expect(diffConfigParams({ after: {} })).toBeNull();
  });
});

describe("listRelatedAuditEvents", () => {
  it("finds the other phase and the LXD event of an operation", async () => {
    await runAudited(db, { actor: ops, action: "instance.stop", ...web }, (ctx) => {
      ctx.setOperationId("op-7");
      return Promise.resolve();
    });
    const lxdEvent = await recordAuditEvent(db, {
      actor: { lxd: "root" },
      action: "lxd.instance-stopped",
      ...web,
      operationId: "op-7",
      result: "success",
    });
    await recordAuditEvent(db, { actor: ops, action: "instance.start", ...web, result: "success" });
    const [intent, outcome] = await Promise.all([getAuditEvent(db, 1), getAuditEvent(db, 2)]);

    const relatedToOutcome = await listRelatedAuditEvents(db, outcome!);
    expect(relatedToOutcome.map((row) => row.id)).toEqual([intent!.id, lxdEvent.id]);

    const relatedToIntent = await listRelatedAuditEvents(db, intent!);
    expect(relatedToIntent.map((row) => row.id)).toEqual([outcome!.id]);
  });

  it("returns nothing for a row without links", async () => {
    const row = await recordAuditEvent(db, { actor: ops, action: "auth.sign_in", result: "success" });
    expect(await listRelatedAuditEvents(db, row)).toEqual([]);
  });

  it("returns null for a missing id", async () => {
    expect(await getAuditEvent(db, 999)).toBeNull();
  });
});

describe("loadInstanceTimeline", () => {
  async function openView(viewId: string, actor = ops) {
    let correlationId = "";
    await runAudited(
      db,
      { actor, action: "vnc.view.open", ...web, params: { viewId, mode: "view" } },
      (ctx) => {
        correlationId = ctx.correlationId;
        return Promise.resolve();
      },
    );
    return correlationId;
  }

  it("lists console and LXD rows of one instance in order", async () => {
    await recordAuditEvent(db, { actor: ops, action: "instance.start", ...web, result: "success" });
    await recordAuditEvent(db, { actor: { lxd: "root" }, action: "lxd.instance-started", ...web, result: "success" });
    await recordAuditEvent(db, { actor: ops, action: "instance.start", ...web, instance: "other", result: "success" });
    await recordAuditEvent(db, { actor: ops, action: "instance.start", ...web, project: "lab", result: "success" });

    const timeline = await loadInstanceTimeline(db, web);

    expect(timeline.rows.map((row) => row.action)).toEqual(["instance.start", "lxd.instance-started"]);
    expect(timeline.truncated).toBe(false);
  });

  it("pairs VNC views with their duration", async () => {
    const closed = await openView("v1");
    const open = await openView("v2", { id: "user-2", email: "support@example.com" });
    await recordAuditEvent(db, {
      actor: ops,
      action: "vnc.view.close",
      ...web,
      params: { viewId: "v1", reason: "client closed" },
      correlationId: closed,
      durationMs: 93_000,
      result: "success",
    });

    const { viewSessions } = await loadInstanceTimeline(db, web);

    expect(viewSessions).toHaveLength(2);
    const [first, second] = viewSessions;
    expect(first?.correlationId).toBe(closed);
    expect(first?.durationMs).toBe(93_000);
    expect(first?.closeReason).toBe("client closed");
    expect(first?.openResult).toBe("success");
    expect(first?.mode).toBe("view");
    expect(first?.closedAt).toBeInstanceOf(Date);
    expect(second?.correlationId).toBe(open);
    expect(second?.actor).toBe("support@example.com");
    expect(second?.closedAt).toBeNull();
    expect(second?.durationMs).toBeNull();
  });

  it("marks a timeline cut at the row limit", async () => {
    for (let i = 0; i < 4; i++) {
      await recordAuditEvent(db, { actor: ops, action: "instance.start", ...web, params: { i }, result: "success" });
    }

    const timeline = await loadInstanceTimeline(db, web, 3);

    expect(timeline.truncated).toBe(true);
    expect(timeline.rows.map((row) => row.params?.i)).toEqual([0, 1, 2]);
  });

  it("requires host, project and instance", () => {
    expect(() => parseTimelineQuery({ host: "local" })).toThrow('Missing "project"');
    expect(parseTimelineQuery({ host: "local", project: "default", instance: "web-1" })).toEqual(web);
  });
});
