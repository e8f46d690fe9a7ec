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

import { runBulkAction } from "./bulk";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
  instanceStatus as status,
} from "./toolbox-test-context";

describe.skipIf(lxdDaemon === null)(integrationTitle("bulk actions"), () => {
  const first = uniqueInstanceName("bulk");
  const second = uniqueInstanceName("bulk");
  const db = useToolboxTestContext([{ name: first }, { name: second }]);
  const key = testKey;

  it("freezes and unfreezes a selection", async () => {
    const input = { action: "freeze", instances: [key(first), key(second)] };
    const result = await runBulkAction(db(), { actor, input });
    expect(result.items.map((item) => [item.key.name, item.ok])).toEqual([
      [first, true],
      [second, true],
    ]);
    expect(await status(first)).toBe("FROZEN");
    expect(await status(second)).toBe("FROZEN");

    const rows = await listAuditEvents(db(), { limit: 10 });
    const bulkOutcome = rows[0];
    expect(bulkOutcome?.action).toBe("instance.bulk");
    expect(bulkOutcome?.result).toBe("success");
    const freezes = rows.filter((row) => row.action === "instance.freeze");
    expect(freezes).toHaveLength(4);
    for (const row of freezes) {
      expect(row.params).toMatchObject({ bulk: result.bulkId });
    }

    await runBulkAction(db(), { actor, input: { ...input, action: "unfreeze" } });
    expect(await status(first)).toBe("RUNNING");
  });

  it("snapshots a selection under one name", async () => {
    const input = { action: "snapshot", instances: [key(first), key(second)] };
    const result = await runBulkAction(db(), { actor, input });
    expect(result.snapshot).toMatch(/^bulk-\d{8}-\d{6}$/);
    for (const name of [first, second]) {
      expect(await lxc(["query", `/1.0/instances/${name}/snapshots`])).toContain(result.snapshot);
    }
  });

  it("lists a failure per instance and keeps going", async () => {
    const missing = uniqueInstanceName("gone");
    const input = { action: "stop", force: true, instances: [key(missing), key(second)] };
    const result = await runBulkAction(db(), { actor, input });

    expect(result.items[0]?.ok).toBe(false);
    expect(result.items[0]?.error).toContain("does not exist");
    expect(result.items[1]).toEqual({ key: key(second), ok: true, error: null });
    expect(await status(second)).toBe("STOPPED");

    const [bulkOutcome] = await listAuditEvents(db(), { limit: 1 });
    expect(bulkOutcome?.result).toBe("failure");
    expect(bulkOutcome?.error).toBe("The stop failed on 1 of 2 instances.");
  });

  it("rejects an unknown action and an empty selection", async () => {
    const unknown = await caught(
      runBulkAction(db(), { actor, input: { action: "reboot", instances: [key(first)] } }),
    );
    expect((unknown as ConsoleError).code).toBe("invalid_input");
    expect((unknown as ConsoleError).message).toContain('"reboot"');

    const empty = await caught(runBulkAction(db(), { actor, input: { action: "start", instances: [] } }));
    expect((empty as ConsoleError).message).toContain("select at least one instance");

    const outcomes = (await listAuditEvents(db(), { limit: 4 })).filter((row) => row.phase === "outcome");
    expect(outcomes.map((row) => row.result)).toEqual(["failure", "failure"]);
  });
});
