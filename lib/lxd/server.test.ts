import { describe, expect, it, vi } from "vitest";

import { ConsoleError } from "@/lib/errors";

import type { LxdClient } from "./client";
import { loadResponse } from "./fixtures/load";
import { deriveFeatures, getServerInfo, toServerInfo } from "./server";
import type { LxdServer } from "./types";

const recordedServer = (
  loadResponse("server.json").body as { metadata: LxdServer }
).metadata;

function fakeClient(requestSync: ReturnType<typeof vi.fn>): LxdClient {
  return { description: "fake LXD", requestSync } as unknown as LxdClient;
}

describe("toServerInfo", () => {
  it("reads identity from LXD 5.0's GET /1.0", () => {
    const info = toServerInfo(recordedServer, "LXD socket /x");

    expect(info.server).toBe("lxd");
    expect(info.serverVersion).toBe("5.0.2");
    expect(info.apiVersion).toBe("1.0");
    expect(info.clustered).toBe(false);
    expect(info.serverName).toBe(recordedServer.environment?.server_name);
    expect(info.trusted).toBe(true);
    expect(info.certificate).toContain("BEGIN CERTIFICATE");
    expect(info.apiExtensions.length).toBeGreaterThan(300);
  });

  it("derives the features LXD 5.0 has", () => {
    const { features } = toServerInfo(recordedServer, "LXD socket /x");

    expect(features.instancesAllProjects).toBe(true);
    expect(features.instanceFullGet).toBe(true);
    expect(features.instanceBulkState).toBe(true);
    expect(features.operationWait).toBe(true);
    expect(features.migrationStateless).toBe(true);
    expect(features.migrationStateful).toBe(true);
    expect(features.eventProject).toBe(true);
    expect(features.eventRequestorAddress).toBe(true);
    expect(features.clustering).toBe(true);
    expect(features.etag).toBe(true);
    expect(features.projects).toBe(true);
  });

  it("marks what LXD 5.0 lacks", () => {
    const { features } = toServerInfo(recordedServer, "LXD socket /x");

    expect(features.eventLifecycleNameAndProject).toBe(false);
  });

  it("rejects a server that does not trust the client", () => {
    const untrusted: LxdServer = {
      api_extensions: [],
      api_status: "stable",
      api_version: "1.0",
      auth: "untrusted",
      public: false,
    };

    expect(() =>
      toServerInfo(untrusted, "LXD at https://10.0.0.5:8443"),
    ).toThrow(ConsoleError);
    expect(() =>
      toServerInfo(untrusted, "LXD at https://10.0.0.5:8443"),
    ).toThrow(/LXD at https:\/\/10\.0\.0\.5:8443 does not trust/);
  });

  it("accepts an Incus server", () => {
    const incus: LxdServer = {
      ...recordedServer,
      environment: recordedServer.environment && {
        ...recordedServer.environment,
        server: "incus",
        server_version: "6.0.0",
      },
    };

    expect(toServerInfo(incus, "x").server).toBe("incus");
  });
});

describe("deriveFeatures", () => {
  it("turns everything off for a bare server", () => {
    const features = deriveFeatures([], "1.0");

    expect(features.instancesAllProjects).toBe(false);
    expect(features.migrationStateless).toBe(false);
    expect(features.eventRequestorAddress).toBe(false);
    // The wait endpoint belongs to API 1.0 itself.
    expect(features.operationWait).toBe(true);
  });

  it("reads operation_wait on other API versions", () => {
    expect(deriveFeatures([], "2.0").operationWait).toBe(false);
    expect(deriveFeatures(["operation_wait"], "2.0").operationWait).toBe(true);
  });
});

describe("getServerInfo", () => {
  it("reads GET /1.0 once per client", async () => {
    const requestSync = vi.fn().mockResolvedValue({
      type: "sync",
      metadata: recordedServer,
      etag: null,
    });
    const client = fakeClient(requestSync);

    const first = await getServerInfo(client);
    const second = await getServerInfo(client);

    expect(second).toBe(first);
    expect(requestSync).toHaveBeenCalledTimes(1);
    expect(requestSync).toHaveBeenCalledWith("GET", "/1.0");
  });

  it("tries again after a failure", async () => {
    const requestSync = vi
      .fn()
      .mockRejectedValueOnce(new ConsoleError("host_unreachable", "down"))
      .mockResolvedValue({
        type: "sync",
        metadata: recordedServer,
        etag: null,
      });
    const client = fakeClient(requestSync);

    await expect(getServerInfo(client)).rejects.toThrow("down");
    await expect(getServerInfo(client)).resolves.toMatchObject({
      server: "lxd",
    });
    expect(requestSync).toHaveBeenCalledTimes(2);
  });
});
