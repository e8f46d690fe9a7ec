import { caught } from "@/test/harness/caught";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import { createClientCertificate } from "@/test/harness/lxd-daemon";
import {
  integrationTitle,
  lxdDaemon,
  requireDaemon,
} from "@/test/harness/lxd-test-context";

import { LxdClient } from "./client";
import { openEventStream } from "./events";
import { listInstances } from "./instances";
import { getServerInfo } from "./server";
import { certificateFingerprint, type LxdEndpoint } from "./transport";

type HttpsEndpoint = Extract<LxdEndpoint, { kind: "https" }>;


describe.skipIf(lxdDaemon === null)(integrationTitle("transport"), () => {
  const clients: LxdClient[] = [];
  let scratch: string;
  // A certificate the daemon has never seen, usable as a wrong pin or as an
  // untrusted client certificate.
  let strangerCert: string;
  let strangerKey: string;

  const connect = (endpoint: LxdEndpoint, requestTimeoutMs?: number) => {
    const client = new LxdClient(endpoint, { requestTimeoutMs });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "lxd-transport-"));
    const certPath = path.join(scratch, "stranger.crt");
    const keyPath = path.join(scratch, "stranger.key");
    await createClientCertificate(certPath, keyPath);
    strangerCert = readFileSync(certPath, "utf8");
    strangerKey = readFileSync(keyPath, "utf8");
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("names the missing socket path", async () => {
    const socketPath = path.join(scratch, "no-daemon", "unix.socket");
    const error = await caught(
      getServerInfo(connect({ kind: "unix", socketPath })),
    );

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("host_unreachable");
    expect((error as ConsoleError).message).toContain(socketPath);
    expect((error as ConsoleError).message).toContain("does not exist");
  });

  it("reports a socket nobody listens on", async () => {
    // A process killed while listening leaves its socket file behind, as a
    // crashed daemon does.
    const socketPath = path.join(scratch, "stale.socket");
    spawnSync(process.execPath, [
      "-e",
      `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    expect(existsSync(socketPath)).toBe(true);

    const error = await caught(
      getServerInfo(connect({ kind: "unix", socketPath })),
    );

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("host_unreachable");
    expect((error as ConsoleError).message).toContain(
      `${socketPath} refused the connection`,
    );
  });

  it("times out on a silent server", async () => {
    const socketPath = path.join(scratch, "silent.socket");
    const server = net.createServer(() => {});
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const error = await caught(
        getServerInfo(connect({ kind: "unix", socketPath }, 300)),
      );

      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as ConsoleError).code).toBe("timeout");
      expect((error as ConsoleError).message).toBe(
        `LXD socket ${socketPath} did not respond within 0.3 s.`,
      );
    } finally {
      server.close();
    }
  });

  it("talks HTTPS with the pinned server certificate", async () => {
    const endpoint = requireDaemon().httpsEndpoint;
    const client = connect(endpoint);

    const info = await getServerInfo(client);
    expect(info.trusted).toBe(true);
    expect(info.certificateFingerprint.replaceAll(":", "").toLowerCase()).toBe(
      certificateFingerprint(endpoint.serverCert)
        .replaceAll(":", "")
        .toLowerCase(),
    );
    const overSocket = await getServerInfo(
      connect({ kind: "unix", socketPath: requireDaemon().socketPath }),
    );
    expect(info.serverName).toBe(overSocket.serverName);
    await expect(
      listInstances(client, { allProjects: true }),
    ).resolves.toBeInstanceOf(Array);
  });

  it("refuses a server whose certificate is not the pin", async () => {
    const endpoint: HttpsEndpoint = {
      ...requireDaemon().httpsEndpoint,
      serverCert: strangerCert,
    };

    const error = await caught(getServerInfo(connect(endpoint)));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("host_unreachable");
    expect((error as ConsoleError).message).toContain(
      "is not the pinned certificate",
    );
    expect((error as ConsoleError).message).toContain(endpoint.url);
  });

  it("refuses a WebSocket to a server that is not the pin", async () => {
    const endpoint: HttpsEndpoint = {
      ...requireDaemon().httpsEndpoint,
      serverCert: strangerCert,
    };

    const error = await caught(openEventStream(connect(endpoint)));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toContain(
      "is not the pinned certificate",
    );
  });

  it("reports an untrusted client certificate", async () => {
    const endpoint: HttpsEndpoint = {
      ...requireDaemon().httpsEndpoint,
      clientCert: strangerCert,
      clientKey: strangerKey,
    };

    const error = await caught(getServerInfo(connect(endpoint)));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).message).toContain("does not trust");
  });

  it("reports a closed HTTPS port", async () => {
    // Bind and release a port so nothing listens on it.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const endpoint: HttpsEndpoint = {
      ...requireDaemon().httpsEndpoint,
      url: `https://127.0.0.1:${port}`,
    };
    const error = await caught(getServerInfo(connect(endpoint)));

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("host_unreachable");
    expect((error as ConsoleError).message).toContain(
      `127.0.0.1:${port} refused`,
    );
  });
});
