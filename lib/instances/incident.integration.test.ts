import { describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";
import {
  integrationTitle,
  lxc,
  lxdDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { respondToIncident } from "./incident";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
  instanceStatus as status,
} from "./toolbox-test-context";

describe.skipIf(lxdDaemon === null)(integrationTitle("incident response"), () => {
  const name = uniqueInstanceName("inc");
  const db = useToolboxTestContext([{ name }]);
  const key = () => testKey(name);

  it("freezes, snapshots and links the rows", async () => {
    const now = new Date("2026-12-04T17:05:09Z");
    const result = await respondToIncident(db(), {
      actor,
      key: key(),
      reason: "Unexpected outbound traffic",
      now,
    });
    expect(result.snapshot).toBe("incident-20261204-170509");
    expect(result.freeze).toBe("frozen");
    expect(await status(name)).toBe("FROZEN");
    const snapshots = await lxc(["query", `/1.0/instances/${name}/snapshots`]);
    expect(snapshots).toContain("incident-20261204-170509");

    const rows = (await listAuditEvents(db(), { limit: 10 })).reverse();
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["instance.incident", "intent", "pending"],
      ["instance.freeze", "intent", "pending"],
      ["instance.freeze", "outcome", "success"],
      ["instance.snapshot.create", "intent", "pending"],
      ["instance.snapshot.create", "outcome", "success"],
      ["instance.incident", "outcome", "success"],
    ]);
    const incidentId = rows[0]?.correlationId;
    expect(result.incidentId).toBe(incidentId);
    expect(rows[5]?.correlationId).toBe(incidentId);
    for (const row of rows.slice(1, 5)) {
      expect(row.params).toMatchObject({ incident: incidentId });
    }
    expect(rows[5]?.params).toMatchObject({
      reason: "Unexpected outbound traffic",
      snapshot: "incident-20261204-170509",
      freeze: "frozen",
    });
  });

  it("keeps a frozen instance frozen", async () => {
    expect(await status(name)).toBe("FROZEN");
    const result = await respondToIncident(db(), {
      actor,
      key: key(),
      reason: "Second look",
      now: new Date("2026-12-04T17:06:00Z"),
    });
    expect(result.freeze).toBe("already frozen");
    expect(await status(name)).toBe("FROZEN");
  });

  it("requires a reason and audits the rejection", async () => {
    const error = await caught(respondToIncident(db(), { actor, key: key(), reason: "  " }));
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain("describe the incident");

    const rows = await listAuditEvents(db(), { limit: 5 });
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["instance.incident", "outcome", "failure"],
      ["instance.incident", "intent", "pending"],
    ]);
  });

  it("records a failed snapshot as a failed incident", async () => {
    // The name of the first incident's snapshot is taken.
    const error = await caught(
      respondToIncident(db(), {
        actor,
        key: key(),
        reason: "Repeat",
        now: new Date("2026-12-04T17:05:09Z"),
      }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.action).toBe("instance.incident");
    expect(outcome?.result).toBe("failure");
  });
});
