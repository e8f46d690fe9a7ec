import { describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";
import {
  integrationTitle,
  lxdDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { deleteInstanceAudited } from "./delete";
import {
  testActor as actor,
  testKey,
  useToolboxTestContext,
  instanceStatus as status,
} from "./toolbox-test-context";

describe.skipIf(lxdDaemon === null)(integrationTitle("instance delete"), () => {
  const running = uniqueInstanceName("del");
  const stopped = uniqueInstanceName("del");
  const db = useToolboxTestContext([{ name: running }, { name: stopped, start: false }]);
  const key = testKey;

  it("rejects a wrong confirmation name", async () => {
    const error = await caught(
      deleteInstanceAudited(db(), { actor, key: key(stopped), confirmName: "something-else" }),
    );
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toContain(`Type the instance name "${stopped}"`);
    expect((error as ConsoleError).message).toContain('"something-else"');
    expect(await status(stopped)).toBe("STOPPED");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.action).toBe("instance.delete");
    expect(outcome?.result).toBe("failure");
  });

  it("rejects a running instance without force", async () => {
    const error = await caught(
      deleteInstanceAudited(db(), { actor, key: key(running), confirmName: running }),
    );
    expect((error as ConsoleError).code).toBe("conflict");
    expect((error as ConsoleError).message).toContain("is running");
    expect((error as ConsoleError).message).toContain("forced delete");
    expect(await status(running)).toBe("RUNNING");
  });

  it("deletes a stopped instance", async () => {
    await deleteInstanceAudited(db(), { actor, key: key(stopped), confirmName: stopped });
    expect(await status(stopped)).toBe("");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("success");
    expect(outcome?.params).toMatchObject({ force: false, status: "Stopped" });
  });

  it("force-deletes a running instance", async () => {
    await deleteInstanceAudited(db(), { actor, key: key(running), confirmName: running, force: true });
    expect(await status(running)).toBe("");

    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("success");
    expect(outcome?.params).toMatchObject({ force: true, status: "Running" });
  });

  it("reports a missing instance", async () => {
    const error = await caught(
      deleteInstanceAudited(db(), { actor, key: key(running), confirmName: running }),
    );
    expect((error as ConsoleError).code).toBe("not_found");
    const [outcome] = await listAuditEvents(db(), { limit: 1 });
    expect(outcome?.result).toBe("failure");
  });
});
