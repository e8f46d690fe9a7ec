import { randomBytes } from "node:crypto";

import { inject } from "vitest";

import type { LxdTestDaemonContext } from "./global-setup";
import { runLxc } from "./lxd-daemon";

/**
 * The test daemon started by the global setup, or null when the run has
 * none, for the reason in `lxdSkipReason`.
 */
export const lxdDaemon: LxdTestDaemonContext | null = inject("lxdTestDaemon");

export const lxdSkipReason: string = inject("lxdTestSkipReason") ?? "";

/** Returns a describe title that states why the suite is skipped, if it is. */
export function integrationTitle(title: string): string {
  return lxdDaemon === null ? `${title} (skipped: ${lxdSkipReason})` : title;
}

/** Returns the daemon, failing the test when the run has none. */
export function requireDaemon(): LxdTestDaemonContext {
  if (lxdDaemon === null) {
    throw new Error(`No LXD test daemon: ${lxdSkipReason}`);
  }
  return lxdDaemon;
}

/** Returns a random instance name, so concurrent runs do not collide. */
export function uniqueInstanceName(prefix = "t"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Runs lxc against the test daemon and throws with stderr on failure. */
export async function lxc(args: string[]): Promise<string> {
  const daemon = requireDaemon();
  const result = await runLxc(daemon.name, args);
  if (result.code !== 0) {
    throw new Error(`lxc ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Creates an instance from the test image, started unless `start` is false. */
export async function createTinyInstance(
  name: string,
  options: { start?: boolean; config?: Record<string, string> } = {},
): Promise<void> {
  const daemon = requireDaemon();
  const configArgs = Object.entries(options.config ?? {}).flatMap(
    ([key, value]) => ["--config", `${key}=${value}`],
  );
  const verb = options.start === false ? "init" : "launch";
  await lxc([verb, daemon.imageAlias, name, ...configArgs]);
}

/** Deletes instances, running or not, and ignores missing ones. */
export async function deleteInstances(names: string[]): Promise<void> {
  const daemon = requireDaemon();
  for (const name of names) {
    await runLxc(daemon.name, ["delete", "--force", name]);
  }
}
