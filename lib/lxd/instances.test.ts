import { describe, expect, it } from "vitest";

import { loadResponse } from "./fixtures/load";
import { parseByteSize, toInstanceSummary } from "./instances";
import type { LxdInstance, LxdInstanceFull } from "./types";

const listed = (
  loadResponse("instances-all-projects.json").body as {
    metadata: LxdInstanceFull[];
  }
).metadata;

function recordedInstance(name: string): LxdInstanceFull {
  const instance = listed.find((candidate) => candidate.name === name);
  if (!instance) throw new Error(`Fixture has no instance ${name}`);
  return instance;
}

describe("toInstanceSummary", () => {
  it("converts a running instance with a snapshot", () => {
    const summary = toInstanceSummary("local", recordedInstance("web-1"));

    expect(summary.host).toBe("local");
    expect(summary.project).toBe("default");
    expect(summary.name).toBe("web-1");
    expect(summary.status).toBe("Running");
    expect(summary.type).toBe("container");
    expect(summary.imageDescription).toBe("busybox test image (test-tiny)");
    expect(summary.sandboxKind).toBe("test");
    expect(summary.location).toBeNull();
    expect(summary.snapshotCount).toBe(1);
    expect(summary.profiles).toEqual(["default"]);
    expect(summary.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(summary.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("reports usage of a running instance", () => {
    const instance = recordedInstance("web-1");
    const usage = toInstanceSummary("local", instance).usage;

    expect(usage).not.toBeNull();
    expect(usage?.cpuNs).toBe(instance.state?.cpu.usage);
    expect(usage?.cpuNs).toBeGreaterThan(0);
    expect(usage?.memoryBytes).toBe(instance.state?.memory.usage);
    expect(usage?.memoryLimitBytes).toBe(256 * 1024 * 1024);
    // The dir storage driver reports no disk usage without quotas.
    expect(usage?.rootDiskBytes).toBeNull();
    expect(usage?.processes).toBe(2);
  });

  it("converts a stopped instance that never ran", () => {
    const summary = toInstanceSummary("local", recordedInstance("idle-1"));

    expect(summary.status).toBe("Stopped");
    expect(summary.usage).toBeNull();
    expect(summary.lastUsedAt).toBeNull();
    expect(summary.snapshotCount).toBe(0);
  });

  it("keeps the project of an instance in another project", () => {
    const summary = toInstanceSummary("local", recordedInstance("py-1"));

    expect(summary.project).toBe("team-a");
    expect(summary.status).toBe("Running");
    expect(summary.usage?.memoryLimitBytes).toBeNull();
  });

  it("converts the instance of GET with recursion=1", () => {
    const instance = (
      loadResponse("instance-full.json").body as { metadata: LxdInstanceFull }
    ).metadata;
    const summary = toInstanceSummary("h1", instance);

    expect(summary.name).toBe("web-1");
    expect(summary.snapshotCount).toBe(1);
    expect(summary.usage?.memoryLimitBytes).toBe(268435456);
  });

  it("reads root disk usage where the driver reports it", () => {
    const base = recordedInstance("web-1");
    const state = base.state;
    if (!state) throw new Error("Fixture web-1 has no state");
    const instance: LxdInstanceFull = {
      ...base,
      state: { ...state, disk: { root: { usage: 123456 } } },
    };

    expect(toInstanceSummary("local", instance).usage?.rootDiskBytes).toBe(
      123456,
    );
  });

  it("maps statuses outside the console's set", () => {
    const base = recordedInstance("idle-1");
    const withStatus = (status: string): LxdInstance => ({ ...base, status });

    expect(toInstanceSummary("l", withStatus("Ready")).status).toBe("Running");
    expect(toInstanceSummary("l", withStatus("Frozen")).status).toBe("Frozen");
    expect(toInstanceSummary("l", withStatus("Mystery")).status).toBe(
      "Unknown",
    );
  });

  it("treats Go's zero time as never used", () => {
    const instance: LxdInstance = {
      ...recordedInstance("idle-1"),
      last_used_at: "0001-01-01T00:00:00Z",
    };

    expect(toInstanceSummary("l", instance).lastUsedAt).toBeNull();
  });

  it("keeps a cluster member as location", () => {
    const instance: LxdInstance = {
      ...recordedInstance("idle-1"),
      location: "member-2",
    };

    expect(toInstanceSummary("l", instance).location).toBe("member-2");
  });

  it("defaults a missing project to default", () => {
    const { project: _project, ...withoutProject } = recordedInstance("idle-1");

    expect(toInstanceSummary("l", withoutProject).project).toBe("default");
  });
});

describe("parseByteSize", () => {
  const cases: Array<[string | undefined, number | null]> = [
    ["256MiB", 268435456],
    ["1GiB", 1073741824],
    ["1GB", 1_000_000_000],
    ["512kB", 512_000],
    ["1.5GiB", 1610612736],
    ["1048576", 1048576],
    ["100B", 100],
    ["50%", null],
    ["10XB", null],
    ["", null],
    [undefined, null],
  ];

  it.each(cases)("parses %j as %j", (value, expected) => {
    expect(parseByteSize(value)).toBe(expected);
  });
});
