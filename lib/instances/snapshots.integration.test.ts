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

import {
  createInstanceSnapshot,
  deleteInstanceSnapshot,
  readSnapshots,
  restoreInstanceSnapshot,
  updateSnapshotSchedule,
} from "./snapshots";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
  configValue,
} from "./toolbox-test-context";

async function readFile(name: string, path: string): Promise<string | null> {
  try {
    return await lxc(["exec", name, "--", "cat", path]);
  } catch {
    return null;
  }
}

describe.skipIf(lxdDaemon === null)(integrationTitle("instance snapshots"), () => {
  const name = uniqueInstanceName("snap");
  const db = useToolboxTestContext([{ name }]);
  const key = () => testKey(name);

  it("restore brings back old files and drops new ones", async () => {
    await lxc(["exec", name, "--", "sh", "-c", "echo before > /root/kept.txt"]);
    await createInstanceSnapshot(db(), { actor, key: key(), name: "base" });

    await lxc(["exec", name, "--", "sh", "-c", "echo changed > /root/kept.txt"]);
    await lxc(["exec", name, "--", "sh", "-c", "echo late > /root/late.txt"]);
    expect(await readFile(name, "/root/late.txt")).toBe("late\n");

    await restoreInstanceSnapshot(db(), { actor, key: key(), name: "base" });
    expect(await readFile(name, "/root/kept.txt")).toBe("before\n");
    expect(await readFile(name, "/root/late.txt")).toBeNull();

    const view = await readSnapshots(db(), key());
    const base = view.snapshots.find((snapshot) => snapshot.name === "base");
    expect(base?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(base?.expiresAt).toBeNull();
    expect(base?.stateful).toBe(false);

    const rows = await listAuditEvents(db(), { limit: 10 });
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["instance.snapshot.restore", "outcome", "success"],
      ["instance.snapshot.restore", "intent", "pending"],
      ["instance.snapshot.create", "outcome", "success"],
      ["instance.snapshot.create", "intent", "pending"],
    ]);
    expect(rows[0]?.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[2]?.params).toEqual({ name: "base", stateful: false });
  });

  it("deletes a snapshot", async () => {
    await createInstanceSnapshot(db(), { actor, key: key(), name: "doomed" });
    await deleteInstanceSnapshot(db(), { actor, key: key(), name: "doomed" });

    const view = await readSnapshots(db(), key());
    expect(view.snapshots.map((snapshot) => snapshot.name)).not.toContain("doomed");
    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.action).toBe("instance.snapshot.delete");
    expect(outcome?.result).toBe("success");
  });

  it("rejects a bad snapshot name and audits it", async () => {
    const error = await caught(
      createInstanceSnapshot(db(), { actor, key: key(), name: "a/b" }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain('Invalid snapshot name "a/b"');
    expect((error as ConsoleError).message).toContain('contains "/"');

    const [outcome, intent] = await listAuditEvents(db(), { limit: 2 });
    expect(intent?.phase).toBe("intent");
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toContain("Invalid snapshot name");
  });

  it("rejects a snapshot name with a space", async () => {
    const error = await caught(
      createInstanceSnapshot(db(), { actor, key: key(), name: "two words" }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain("contains a space");
  });

  it("reports a failed restore of a missing snapshot", async () => {
    const error = await caught(
      restoreInstanceSnapshot(db(), { actor, key: key(), name: "never-made" }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toContain(name);

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.action).toBe("instance.snapshot.restore");
    expect(outcome?.result).toBe("failure");
  });

  it("stateful snapshot fails, then is offered no more", async () => {
    const before = await readSnapshots(db(), key());
    expect(before.stateful.available).toBe(true);

    const error = await caught(
      createInstanceSnapshot(db(), { actor, key: key(), name: "mem", stateful: true }),
    );
    expect(error).toBeInstanceOf(ConsoleError);

    const after = await readSnapshots(db(), key());
    expect(after.stateful.available).toBe(false);
    expect(after.stateful.reason).toMatch(/criu/i);
    expect(after.snapshots.map((snapshot) => snapshot.name)).not.toContain("mem");

    const refused = await caught(
      createInstanceSnapshot(db(), { actor, key: key(), name: "mem2", stateful: true }),
    );
    expect((refused as ConsoleError).code).toBe("invalid_input");
    expect((refused as ConsoleError).message).toMatch(/cannot save container memory/);
  });

  it("saves the schedule, expiry and pattern", async () => {
    const { etag } = await readSnapshots(db(), key());
    const diff = await updateSnapshotSchedule(db(), {
      actor,
      key: key(),
      etag,
      values: {
        "snapshots.schedule": "0 3 * * *, @startup",
        "snapshots.expiry": "2w 3d",
        "snapshots.pattern": "auto-%d",
      },
    });
    expect(diff.after["snapshots.expiry"]).toBe("2w 3d");
    expect(await configValue(name, "snapshots.schedule")).toBe("0 3 * * *, @startup");
    expect(await configValue(name, "snapshots.expiry")).toBe("2w 3d");
    expect(await configValue(name, "snapshots.pattern")).toBe("auto-%d");

    const view = await readSnapshots(db(), key());
    expect(view.config["snapshots.schedule"].own).toBe("0 3 * * *, @startup");

    await createInstanceSnapshot(db(), { actor, key: key(), name: "expiring" });
    const expiring = (await readSnapshots(db(), key())).snapshots.find(
      (snapshot) => snapshot.name === "expiring",
    );
    const days = (Date.parse(expiring?.expiresAt ?? "") - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(16.9);
    expect(days).toBeLessThan(17.1);

    await updateSnapshotSchedule(db(), {
      actor,
      key: key(),
      values: { "snapshots.schedule": "", "snapshots.expiry": "" },
    });
    expect(await configValue(name, "snapshots.schedule")).toBe("");
    expect(await configValue(name, "snapshots.expiry")).toBe("");

    const rows = await listAuditEvents(db(), { limit: 10, instance: name });
    const scheduleOutcome = rows.find(
      (row) => row.action === "instance.snapshot.schedule" && row.phase === "outcome",
    );
    expect(scheduleOutcome?.params).toMatchObject({
      before: { "snapshots.schedule": "0 3 * * *, @startup", "snapshots.expiry": "2w 3d" },
      after: { "snapshots.schedule": null, "snapshots.expiry": null },
    });
  });

  it.each([
    ["snapshots.schedule", "every day", "has 2 fields"],
    ["snapshots.schedule", "61 * * * *", "outside 0-59"],
    ["snapshots.expiry", "2 weeks", '"2" is not an amount with a unit'],
    ["snapshots.expiry", "1d 2d", 'unit "d" is used twice'],
    ["snapshots.pattern", "a/%d", 'contains "/"'],
  ])("rejects %s=%s with the config unchanged", async (field, value, reason) => {
    const before = await configValue(name, field);
    const error = await caught(
      updateSnapshotSchedule(db(), { actor, key: key(), values: { [field]: value } }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain(`for ${field}`);
    expect((error as ConsoleError).message).toContain(reason);
    expect((error as ConsoleError).message).toContain("Accepted forms:");
    expect(await configValue(name, field)).toBe(before);

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
  });
});
