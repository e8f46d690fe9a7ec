import type { TestDaemon } from "./lxd-daemon";

/** Runs lxc against a test daemon and returns its output, throwing with stderr on failure. */
export async function lxcOn(daemon: TestDaemon, args: string[]): Promise<string> {
  const result = await daemon.lxc(args);
  if (result.code !== 0) {
    throw new Error(`lxc ${args.join(" ")} on ${daemon.name} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
