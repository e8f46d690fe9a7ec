import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";

import type { TestProject } from "vitest/node";

import type { LxdEndpoint } from "@/lib/lxd/transport";

import { trustedHttpsEndpoint } from "./lxd-daemon";
import { acquireSharedDaemon } from "./shared-daemon";
import { TINY_IMAGE_ALIAS, importTinyImage } from "./tiny-image";

/** What integration tests get through `inject("lxdTestDaemon")`. */
export interface LxdTestDaemonContext {
  /** Test daemon name, for runLxc(). */
  name: string;
  lxdDir: string;
  socketPath: string;
  /** Trusted client certificate and the daemon's pinned certificate. */
  httpsEndpoint: Extract<LxdEndpoint, { kind: "https" }>;
  /** Alias of the busybox image imported into the daemon. */
  imageAlias: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Null when the run has no LXD daemon, for the reason in lxdTestSkipReason. */
    lxdTestDaemon: LxdTestDaemonContext | null;
    lxdTestSkipReason: string | null;
  }
}

const DEFAULT_DAEMON_NAME = "vitest-a";

/**
 * Starts the private LXD daemon `vitest-a` (or the name in
 * SANDBOX_TEST_LXD_NAME; HTTPS on 127.0.0.1:18443, or the port in
 * SANDBOX_TEST_LXD_PORT) with the test-tiny image for the whole run, or
 * joins it when a concurrent run in this tree already started it.
 * SANDBOX_TEST_LXD=0 runs without a daemon, and the integration suites are
 * skipped.
 */
export default async function setup(
  project: TestProject,
): Promise<() => Promise<void>> {
  // The run's audit witness file, named in vitest.config.ts, goes with it.
  const witnessFile = project.config.env?.SANDBOX_CONSOLE_AUDIT_WITNESS;
  const removeWitnessFile = () => (witnessFile ? rm(witnessFile, { force: true }) : Promise.resolve());

  const skipReason = lxdSkipReason();
  if (skipReason !== null) {
    project.provide("lxdTestDaemon", null);
    project.provide("lxdTestSkipReason", skipReason);
    return removeWitnessFile;
  }

  // Both steps run under the daemon's lock, so concurrent runs neither
  // import the image twice nor create two client certificates.
  let httpsEndpoint: LxdTestDaemonContext["httpsEndpoint"] | undefined;
  const lease = await acquireSharedDaemon(
    { name: process.env.SANDBOX_TEST_LXD_NAME || DEFAULT_DAEMON_NAME, httpsPort: httpsPort() },
    async (daemon) => {
      await importTinyImage(daemon);
      httpsEndpoint = await trustedHttpsEndpoint(daemon);
    },
  );
  if (httpsEndpoint === undefined) {
    throw new Error("Test daemon setup finished without an HTTPS endpoint");
  }

  project.provide("lxdTestDaemon", {
    name: lease.daemon.name,
    lxdDir: lease.daemon.lxdDir,
    socketPath: lease.daemon.socketPath,
    httpsEndpoint,
    imageAlias: TINY_IMAGE_ALIAS,
  });
  project.provide("lxdTestSkipReason", null);
  return async () => {
    await removeWitnessFile();
    await lease.release();
  };
}

function httpsPort(): number {
  const value = process.env.SANDBOX_TEST_LXD_PORT ?? "18443";
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`SANDBOX_TEST_LXD_PORT=${value} is not a TCP port number`);
  }
  return port;
}

function lxdSkipReason(): string | null {
  if (process.env.SANDBOX_TEST_LXD === "0") {
    return "SANDBOX_TEST_LXD=0 is set";
  }
  if (!existsSync("/usr/bin/lxd") && !existsSync("/snap/bin/lxd")) {
    // CI must run the integration tests, never skip them.
    if (process.env.CI) {
      throw new Error("LXD is not installed (apt-get install lxd), and CI is set");
    }
    return "LXD is not installed (apt-get install lxd)";
  }
  return null;
}
