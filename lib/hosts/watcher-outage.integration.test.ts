import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "@/test/harness/lxd-daemon";
import { integrationTitle, lxdDaemon } from "@/test/harness/lxd-test-context";
import { TINY_IMAGE_ALIAS, importTinyImage } from "@/test/harness/tiny-image";
import { replaceHosts } from "./registry";
import { Fleet } from "./watcher";

// A daemon of its own, because this test shuts its daemon down.
const daemonName = "vitest-outage";
const daemonPort = 18451;

describe.skipIf(lxdDaemon === null)(integrationTitle("Fleet host outage"), () => {
  let daemon: TestDaemon;
  let fleet: Fleet;

  beforeAll(async () => {
    daemon = await startTestDaemon({ name: daemonName, httpsPort: daemonPort });
    await importTinyImage(daemon);
    const created = await daemon.lxc(["init", TINY_IMAGE_ALIAS, "outage-probe"]);
    expect(created.code).toBe(0);

    replaceHosts([
      { id: "outage", name: "Outage", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);
    fleet = new Fleet();
    await fleet.ready();
  });

  afterAll(async () => {
    fleet.stop();
    await daemon.stop();
  });

  it("drops a lost host's instances", async () => {
    expect(fleet.instances().map((instance) => instance.name)).toEqual(["outage-probe"]);

    const emptied = new Promise<void>((resolve) => {
      const unsubscribe = fleet.subscribe((event) => {
        if (event.type === "host-instances" && event.instances.length === 0) {
          unsubscribe();
          resolve();
        }
      });
    });
    // SIGKILL, as in a crash: a clean stop would delete the instances first.
    const pid = Number(readFileSync(`${daemon.lxdDir}.pid`, "utf8").trim());
    process.kill(pid, "SIGKILL");
    await emptied;

    expect(fleet.instances()).toEqual([]);
    expect(fleet.hosts()[0]?.state).toBe("unreachable");
  });
});
