import { afterAll, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";
import {
  integrationTitle,
  lxc,
  lxdDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { readLimits } from "./limits";
import { applyPreset, deletePreset, listPresets, savePreset } from "./presets";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
} from "./toolbox-test-context";

describe.skipIf(lxdDaemon === null)(integrationTitle("limit presets"), () => {
  const name = uniqueInstanceName("pre");
  const db = useToolboxTestContext([{ name }]);
  const key = () => testKey(name);

  // Later suites expect the seeded presets back.
  afterAll(async () => {
    await truncateTables(db());
  });

  it("lists the seeded presets", async () => {
    const presets = await listPresets(db());
    expect(presets.map((preset) => preset.name)).toEqual(["large", "medium", "small"]);
    expect(presets[2]?.limits).toEqual({
      "limits.cpu": "1",
      "limits.memory": "1GiB",
      "limits.processes": "500",
    });
  });

  it("adds, edits and removes a preset with audit rows", async () => {
    await savePreset(db(), {
      actor,
      preset: { name: "tiny", description: "for tests", limits: { "limits.memory": "64MiB" } },
    });
    await savePreset(db(), {
      actor,
      preset: { name: "tiny", limits: { "limits.memory": "96MiB", "limits.processes": "50" } },
    });
    const tiny = (await listPresets(db())).find((preset) => preset.name === "tiny");
    expect(tiny?.limits).toEqual({ "limits.memory": "96MiB", "limits.processes": "50" });
    expect(tiny?.updatedBy).toBe(actor.email);

    await deletePreset(db(), { actor, name: "tiny" });
    expect((await listPresets(db())).map((preset) => preset.name)).not.toContain("tiny");

    const rows = await listAuditEvents(db(), { limit: 10 });
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["preset.delete", "outcome", "success"],
      ["preset.delete", "intent", "pending"],
      ["preset.save", "outcome", "success"],
      ["preset.save", "intent", "pending"],
      ["preset.save", "outcome", "success"],
      ["preset.save", "intent", "pending"],
    ]);
    expect(rows[2]?.params).toMatchObject({
      before: { "limits.memory": "64MiB" },
      after: { "limits.memory": "96MiB", "limits.processes": "50" },
    });
  });

  it("rejects a preset with a bad limit or name", async () => {
    const badLimit = await caught(
      savePreset(db(), { actor, preset: { name: "odd", limits: { "limits.cpu": "x" } } }),
    );
    expect((badLimit as ConsoleError).code).toBe("invalid_input");
    expect((badLimit as ConsoleError).message).toContain('Invalid value "x" for limits.cpu');

    const badName = await caught(
      savePreset(db(), { actor, preset: { name: "Big One", limits: { "limits.cpu": "2" } } }),
    );
    expect((badName as ConsoleError).message).toContain('"Big One"');
    expect((badName as ConsoleError).message).toContain("lowercase letters");

    const empty = await caught(savePreset(db(), { actor, preset: { name: "none", limits: {} } }));
    expect((empty as ConsoleError).message).toContain("at least one limit");

    expect((await listPresets(db())).map((preset) => preset.name)).toEqual(["large", "medium", "small"]);
    const outcomes = (await listAuditEvents(db(), { limit: 6 })).filter((row) => row.phase === "outcome");
    expect(outcomes.map((row) => row.result)).toEqual(["failure", "failure", "failure"]);
  });

  it("applies a preset to an instance", async () => {
    const { etag } = await readLimits(key());
    await applyPreset(db(), { actor, key: key(), name: "small", etag });
    expect((await lxc(["config", "get", name, "limits.memory"])).trim()).toBe("1GiB");
    expect((await lxc(["config", "get", name, "limits.processes"])).trim()).toBe("500");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.action).toBe("instance.limits.update");
    expect(outcome?.params).toMatchObject({ preset: "small", after: { "limits.cpu": "1" } });
  });

  it("reports a missing preset and audits it", async () => {
    const error = await caught(applyPreset(db(), { actor, key: key(), name: "huge" }));
    expect((error as ConsoleError).code).toBe("not_found");
    expect((error as ConsoleError).message).toContain('"huge"');
    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
  });
});
