import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import {
  PIN_MISMATCH_CODE,
  findExistingSocket,
  findLocalSocket,
  localSocketCandidates,
  transportError,
  type LxdEndpoint,
} from "./transport";

describe("findLocalSocket", () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it("prefers $LXD_DIR/unix.socket", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "lxd-dir-"));
    writeFileSync(path.join(dir, "unix.socket"), "");

    expect(findLocalSocket({ LXD_DIR: dir })).toBe(
      path.join(dir, "unix.socket"),
    );
  });

  it("tries LXD_DIR, Debian, then snap", () => {
    expect(localSocketCandidates({ LXD_DIR: "/srv/lxd" })).toEqual([
      "/srv/lxd/unix.socket",
      "/var/lib/lxd/unix.socket",
      "/var/snap/lxd/common/lxd/unix.socket",
    ]);
  });

  it("skips LXD_DIR when unset", () => {
    expect(localSocketCandidates({})).toEqual([
      "/var/lib/lxd/unix.socket",
      "/var/snap/lxd/common/lxd/unix.socket",
    ]);
  });

  it("names every path tried when none exists", () => {
    const tried = ["/nonexistent/a/unix.socket", "/nonexistent/b/unix.socket"];
    let caught: unknown;
    try {
      findExistingSocket(tried);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConsoleError);
    const error = caught as ConsoleError;
    expect(error.code).toBe("host_unreachable");
    expect(error.message).toContain("/nonexistent/a/unix.socket");
    expect(error.message).toContain("/nonexistent/b/unix.socket");
    expect(error.message).toContain("Start LXD, or set LXD_DIR");
  });
});

describe("transportError", () => {
  const unix: LxdEndpoint = { kind: "unix", socketPath: "/run/x/unix.socket" };
  const https: LxdEndpoint = {
    kind: "https",
    url: "https://127.0.0.1:8443",
    clientCert: "",
    clientKey: "",
    serverCert: "",
  };
  const failure = (code: string) =>
    Object.assign(new Error(`failure ${code}`), { code });

  const cases: Array<[string, LxdEndpoint, string, string, RegExp]> = [
    [
      "missing socket",
      unix,
      "ENOENT",
      "host_unreachable",
      /LXD socket \/run\/x\/unix\.socket does not exist\. Start LXD/,
    ],
    [
      "refused socket",
      unix,
      "ECONNREFUSED",
      "host_unreachable",
      /\/run\/x\/unix\.socket refused the connection/,
    ],
    [
      "denied socket",
      unix,
      "EACCES",
      "host_unreachable",
      /Permission denied on LXD socket \/run\/x\/unix\.socket/,
    ],
    [
      "refused port",
      https,
      "ECONNREFUSED",
      "host_unreachable",
      /LXD at https:\/\/127\.0\.0\.1:8443 refused.*core\.https_address/,
    ],
    [
      "pin mismatch",
      https,
      PIN_MISMATCH_CODE,
      "host_unreachable",
      /https:\/\/127\.0\.0\.1:8443 rejected: failure .*add the host again/,
    ],
    [
      "connect timeout",
      https,
      "ETIMEDOUT",
      "timeout",
      /Connecting to LXD at https:\/\/127\.0\.0\.1:8443 timed out/,
    ],
    [
      "reset",
      https,
      "ECONNRESET",
      "host_unreachable",
      /Connection to LXD at https:\/\/127\.0\.0\.1:8443 failed: failure ECONNRESET/,
    ],
  ];

  it.each(cases)(
    "maps a %s",
    (_case, endpoint, code, expectedCode, message) => {
      const error = transportError(endpoint, failure(code));

      expect(error.code).toBe(expectedCode);
      expect(error.message).toMatch(message);
    },
  );
});
