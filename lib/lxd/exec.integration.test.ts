import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createTinyInstance,
  deleteInstances,
  integrationTitle,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { LxdClient } from "./client";
import { execCommand } from "./exec";

describe.skipIf(lxdDaemon === null)(integrationTitle("exec"), () => {
  const name = uniqueInstanceName("exec");
  const ref = { project: "default", name };
  let unix: LxdClient;
  let https: LxdClient;

  beforeAll(async () => {
    const daemon = requireDaemon();
    unix = new LxdClient({ kind: "unix", socketPath: daemon.socketPath });
    https = new LxdClient(daemon.httpsEndpoint);
    await createTinyInstance(name);
  });

  afterAll(async () => {
    await deleteInstances([name]);
    await unix?.close();
    await https?.close();
  });

  it("returns the stdout of echo", async () => {
    const result = await execCommand(unix, ref, ["echo", "hello", "world"]);

    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString("utf8")).toBe("hello world\n");
    expect(result.stderr.length).toBe(0);
  });

  it("returns stderr and the exit code", async () => {
    const result = await execCommand(unix, ref, [
      "sh",
      "-c",
      "echo oops >&2; exit 3",
    ]);

    expect(result.exitCode).toBe(3);
    expect(result.stderr.toString("utf8")).toBe("oops\n");
    expect(result.stdout.length).toBe(0);
  });

  it("passes binary stdin through unchanged", async () => {
    // Every byte value, including LF, CR and NUL: a terminal would alter them.
    const input = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    const result = await execCommand(unix, ref, ["cat"], { stdin: input });

    expect(result.exitCode).toBe(0);
    expect(result.stdout.equals(input)).toBe(true);
  });

  it("runs over HTTPS", async () => {
    const result = await execCommand(https, ref, ["echo", "over-tls"]);

    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString("utf8")).toBe("over-tls\n");
  });
});
