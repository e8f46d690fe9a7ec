import path from "node:path";

import { describe, expect, it } from "vitest";

import { runCommand } from "@/test/harness/run-command";

const scripts = ["build-image.sh", "launch-demo.sh", "sandbox-profile.sh"];

// No daemon listens in this folder, so a script that failed to stop at its
// options could not change any LXD.
const env = { ...process.env, LXD_DIR: "/nonexistent/sandbox-console-test" };

function run(script: string, args: string[]) {
  return runCommand("bash", [path.join("scripts", script), ...args], {
    env,
    timeoutMs: 30_000,
  });
}

describe.each(scripts)("scripts/%s", (script) => {
  it.each(["--help", "-h"])("prints usage for %s", async (option) => {
    const result = await run(script, [option]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^Usage: scripts/${script.replace(".", "\\.")} \\[-h \\| --help\\]`,
      ),
    );
    expect(result.stdout).toContain("LXD_DIR");
    expect(result.stderr).toBe("");
  });

  it("rejects an unknown option by name", async () => {
    const result = await run(script, ["--colour"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error: unknown option '--colour'");
    expect(result.stderr).toContain(`Usage: scripts/${script}`);
  });
});

describe("scripts/build-image.sh arguments", () => {
  it("rejects a missing image name", async () => {
    const result = await run("build-image.sh", []);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected one image name, got 0");
  });

  it("rejects two image names", async () => {
    const result = await run("build-image.sh", ["browser", "python"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected one image name, got 2");
  });
});

describe.each(["launch-demo.sh", "sandbox-profile.sh"])(
  "scripts/%s arguments",
  (script) => {
    it("rejects an argument by name", async () => {
      const result = await run(script, ["extra"]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain("error: unexpected argument 'extra'");
    });
  },
);
