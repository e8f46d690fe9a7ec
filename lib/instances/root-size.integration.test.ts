import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";
import { runLxc } from "@/test/harness/lxd-daemon";

import { readLimits, updateLimits } from "./limits";
import { testActor as actor, testKey, useToolboxTestContext } from "./toolbox-test-context";

// The shared test daemon's default pool is a dir pool, where LXD 5.0 stores
// a root disk size without enforcing it. A btrfs pool on a loop file
// enforces it with quota groups, so writes past the size fail inside the
// container.

/** Writes `mebibytes` MiB of zeros to `path` in the container and returns dd's exit code and output. */
async function writeZeros(name: string, path: string, mebibytes: number) {
  const daemon = requireDaemon();
  const script = `dd if=/dev/zero of=${path} bs=1M count=${mebibytes} 2>&1 && sync`;
  const result = await runLxc(daemon.name, ["exec", name, "--", "sh", "-c", script]);
  return { code: result.code, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(lxdDaemon === null)(integrationTitle("root disk size on btrfs"), () => {
  const suffix = uniqueInstanceName("q");
  const pool = `pool-${suffix}`;
  const profile = `root-${suffix}`;
  const name = `size-${suffix}`;
  const db = useToolboxTestContext([]);
  const key = () => testKey(name);

  beforeAll(async () => {
    await lxc(["storage", "create", pool, "btrfs", "size=512MiB"]);
    // The root disk comes from a profile, as in the sandbox profile, so the
    // console has to copy the device into the instance to size it.
    await lxc(["profile", "create", profile]);
    await lxc(["profile", "device", "add", profile, "root", "disk", "path=/", `pool=${pool}`]);
    await lxc(["launch", requireDaemon().imageAlias, name, "--profile", "default", "--profile", profile]);
  });

  afterAll(async () => {
    const daemon = requireDaemon();
    await runLxc(daemon.name, ["delete", "--force", name]);
    await runLxc(daemon.name, ["profile", "delete", profile]);
    await runLxc(daemon.name, ["storage", "delete", pool]);
  });

  it("rejects writes past the size and allows them once raised", async () => {
    await updateLimits(db(), { actor, key: key(), values: { "root.size": "24MiB" } });
    expect((await lxc(["config", "device", "get", name, "root", "size"])).trim()).toBe("24MiB");
    expect((await lxc(["config", "device", "get", name, "root", "pool"])).trim()).toBe(pool);
    expect((await readLimits(key())).limits["root.size"]).toEqual({ own: "24MiB", effective: "24MiB" });

    const tooBig = await writeZeros(name, "/fill", 48);
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.output).toContain("Disk quota exceeded");

    await lxc(["exec", name, "--", "rm", "-f", "/fill"]);
    await updateLimits(db(), { actor, key: key(), values: { "root.size": "128MiB" } });
    const fits = await writeZeros(name, "/fill", 48);
    expect(fits.output).not.toContain("Disk quota exceeded");
    expect(fits.code).toBe(0);
  });
});
