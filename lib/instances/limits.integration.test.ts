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

import { readLimits, updateLimits } from "./limits";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
  configValue,
} from "./toolbox-test-context";

/**
 * Reads a cgroup v1 file as the container sees it. The test image's init
 * mounts no cgroups, so the controller is mounted under /tmp first.
 */
async function cgroupValue(name: string, controller: string, file: string): Promise<string> {
  const script =
    `mkdir -p /tmp/cg-${controller}; ` +
    `mountpoint -q /tmp/cg-${controller} || mount -t cgroup -o ${controller} cgroup /tmp/cg-${controller}; ` +
    `cat /tmp/cg-${controller}/${file}`;
  return (await lxc(["exec", name, "--", "sh", "-c", script])).trim();
}

/** Polls a value, because LXD pins CPUs from a background task, not during the update. */
async function eventually(read: () => Promise<string>, expected: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  let value = await read();
  while (!expected.test(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    value = await read();
  }
  return value;
}

describe.skipIf(lxdDaemon === null)(integrationTitle("instance limits"), () => {
  const name = uniqueInstanceName("lim");
  const db = useToolboxTestContext([{ name }]);
  const key = () => testKey(name);

  it("applies each limit live and the container feels it", async () => {
    const { etag } = await readLimits(key());
    expect(etag).not.toBeNull();

    await updateLimits(db(), {
      actor,
      key: key(),
      etag,
      values: {
        "limits.cpu": "1-1",
        "limits.cpu.allowance": "25ms/100ms",
        "limits.memory": "128MiB",
        "limits.memory.swap": "false",
        "limits.processes": "77",
      },
    });

    expect(await configValue(name, "limits.cpu")).toBe("1-1");
    expect(await configValue(name, "limits.cpu.allowance")).toBe("25ms/100ms");
    expect(await configValue(name, "limits.memory")).toBe("128MiB");
    expect(await configValue(name, "limits.memory.swap")).toBe("false");
    expect(await configValue(name, "limits.processes")).toBe("77");

    expect(await cgroupValue(name, "cpu", "cpu.cfs_quota_us")).toBe("25000");
    expect(await cgroupValue(name, "cpu", "cpu.cfs_period_us")).toBe("100000");
    expect(await cgroupValue(name, "memory", "memory.limit_in_bytes")).toBe(String(128 * 2 ** 20));
    expect(await cgroupValue(name, "memory", "memory.swappiness")).toBe("0");
    expect(await cgroupValue(name, "pids", "pids.max")).toBe("77");
    const cpuset = () => cgroupValue(name, "cpuset", "cpuset.cpus");
    expect(await eventually(cpuset, /^1$/)).toBe("1");
    // lxcfs shows the memory limit in the container's /proc/meminfo.
    const meminfo = await lxc(["exec", name, "--", "head", "-1", "/proc/meminfo"]);
    expect(meminfo).toMatch(/^MemTotal:\s+131072 kB/);

    const view = await readLimits(key());
    expect(view.limits["limits.memory"]).toEqual({ own: "128MiB", effective: "128MiB" });
    expect(view.usage.memoryBytes).toBeGreaterThan(0);
    expect(view.usage.processes).toBeGreaterThan(0);

    const [outcome, intent] = await listAuditEvents(db(), { limit: 2 });
    expect(intent?.action).toBe("instance.limits.update");
    expect(outcome?.result).toBe("success");
    expect(outcome?.params).toMatchObject({
      before: { "limits.memory": null, "limits.processes": null },
      after: { "limits.memory": "128MiB", "limits.processes": "77" },
    });
  });

  it("applies a CPU count", async () => {
    await updateLimits(db(), { actor, key: key(), values: { "limits.cpu": "1" } });
    expect(await configValue(name, "limits.cpu")).toBe("1");
    const nproc = () => lxc(["exec", name, "--", "nproc"]).then((text) => text.trim());
    expect(await eventually(nproc, /^1$/)).toBe("1");
  });

  it("applies a percentage allowance and memory share", async () => {
    await updateLimits(db(), {
      actor,
      key: key(),
      values: { "limits.cpu.allowance": "50%", "limits.memory": "50%", "limits.cpu": "" },
    });
    expect(await configValue(name, "limits.cpu.allowance")).toBe("50%");
    expect(await configValue(name, "limits.memory")).toBe("50%");
    expect(await configValue(name, "limits.cpu")).toBe("");
    expect(await cgroupValue(name, "cpu", "cpu.cfs_quota_us")).toBe("-1");
    expect(await cgroupValue(name, "cpu", "cpu.shares")).not.toBe("1024");
  });

  // The test daemon's dir pool has no project quotas, so LXD 5.0 stores the
  // size without enforcing it. root-size.integration.test.ts checks that a
  // btrfs pool enforces it.
  it("sets the root disk size through an instance copy of the device", async () => {
    await updateLimits(db(), { actor, key: key(), values: { "root.size": "3GiB" } });
    expect((await lxc(["config", "device", "get", name, "root", "size"])).trim()).toBe("3GiB");

    const view = await readLimits(key());
    expect(view.limits["root.size"]).toEqual({ own: "3GiB", effective: "3GiB" });

    await updateLimits(db(), { actor, key: key(), values: { "root.size": "" } });
    expect((await readLimits(key())).limits["root.size"].own).toBeNull();
  });

  it.each([
    ["limits.cpu", "two", "neither a CPU count nor a CPU set"],
    ["limits.cpu", "0", "at least 1"],
    ["limits.cpu", "1-3,3", "CPU 3 is named more than once"],
    ["limits.cpu.allowance", "25ms", "neither a percentage nor a time slice"],
    ["limits.cpu.allowance", "12.5%", "not a whole percentage"],
    ["limits.memory", "1 GB", '" GB" is not a size unit'],
    ["limits.memory", "lots", "does not start with a whole number"],
    ["limits.memory.swap", "maybe", "not a boolean"],
    ["limits.processes", "1e3", "not a whole number"],
    ["root.size", "10G", '"G" is not a size unit'],
  ])("rejects %s=%s with the config unchanged", async (field, value, reason) => {
    const before = (await readLimits(key())).limits;
    const error = await caught(
      updateLimits(db(), { actor, key: key(), values: { [field]: value } }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    const message = (error as ConsoleError).message;
    expect(message).toContain(`Invalid value ${JSON.stringify(value)} for ${field}`);
    expect(message).toContain(reason);
    expect(message).toContain("Accepted forms:");
    expect((await readLimits(key())).limits).toEqual(before);

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toBe(message);
  });

  it("rejects an unknown key", async () => {
    const error = await caught(
      updateLimits(db(), { actor, key: key(), values: { "limits.gpu": "1" } }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain('"limits.gpu"');
  });

  it("reports a stale ETag as a conflict and keeps the other change", async () => {
    const { etag } = await readLimits(key());
    await lxc(["config", "set", name, "limits.processes", "90"]);

    const error = await caught(
      updateLimits(db(), { actor, key: key(), etag, values: { "limits.processes": "60" } }),
    );
    expect((error as ConsoleError).code).toBe("conflict");
    expect((error as ConsoleError).message).toContain("changed after you loaded it");
    expect(await configValue(name, "limits.processes")).toBe("90");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toContain("changed after you loaded it");
  });

  it("reports LXD's own rejection with the instance name", async () => {
    const error = await caught(
      updateLimits(db(), { actor, key: key(), values: { "limits.processes": "-5" } }),
    );
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toContain(name);
    expect((error as ConsoleError).message).toContain("LXD returned an error");
    expect(await configValue(name, "limits.processes")).toBe("90");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
    expect(outcome?.operationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
