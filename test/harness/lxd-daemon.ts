import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import type { LxdEndpoint } from "@/lib/lxd/transport";

import {
  runCommand,
  runCommandOrThrow,
  type CommandResult,
} from "./run-command";

/** Parent directory of every test daemon's LXD_DIR. */
export const TEST_DAEMON_ROOT = "/var/lib/sandbox-console-test";

export interface TestDaemon {
  name: string;
  /** LXD_DIR of the daemon. */
  lxdDir: string;
  socketPath: string;
  /** https://127.0.0.1:PORT */
  httpsUrl: string;
  /** Runs the lxc CLI against this daemon (never the system's default one). */
  lxc(args: string[], options?: { input?: string }): Promise<CommandResult>;
  /** Deletes all instances, shuts the daemon down and removes its directory. */
  stop(): Promise<void>;
}

export interface StartTestDaemonOptions {
  /** Directory name under /var/lib/sandbox-console-test: letters, digits, hyphens. */
  name: string;
  /** Port of core.https_address on 127.0.0.1. */
  httpsPort: number;
  /**
   * `lxd init --preseed` YAML in place of the standalone one (a dir pool,
   * no network, HTTPS on httpsPort), such as a cluster join.
   */
  preseed?: string;
}

// LXD 5.0 downloads instance type definitions from images.linuxcontainers.org
// when it starts. A proxy address on a closed loopback port makes that
// request fail without leaving the machine; Go's HTTP client never proxies
// requests to loopback addresses, so daemons still reach each other.
const OFFLINE_PROXY_ENV = {
  HTTPS_PROXY: "http://127.0.0.1:9",
  HTTP_PROXY: "http://127.0.0.1:9",
  https_proxy: "http://127.0.0.1:9",
  http_proxy: "http://127.0.0.1:9",
};

const READY_TIMEOUT_SECONDS = 60;
const SHUTDOWN_TIMEOUT_SECONDS = 60;

/**
 * Starts a private LXD daemon with LXD_DIR=/var/lib/sandbox-console-test/NAME,
 * a dir storage pool named `default`, no network, a default profile with a
 * root disk, and core.https_address on 127.0.0.1:PORT. A daemon left behind
 * by an earlier run under the same name is shut down and removed first.
 */
export async function startTestDaemon(
  options: StartTestDaemonOptions,
): Promise<TestDaemon> {
  const daemon = testDaemonHandle(options);
  await stopTestDaemon(options.name);
  await assertPortFree(options.httpsPort);
  await assertLxcfsServing();

  await fs.mkdir(daemon.lxdDir, { recursive: true, mode: 0o711 });
  await fs.mkdir(clientDir(options.name), { recursive: true, mode: 0o700 });

  // The daemon outlives this process if the test run crashes. The next run
  // finds it through the pid file and shuts it down.
  const output = openSync(path.join(daemon.lxdDir, "daemon.out"), "a");
  const child = spawn(
    "lxd",
    ["--group", "root", "--logfile", path.join(daemon.lxdDir, "lxd.log")],
    {
      env: { ...process.env, ...OFFLINE_PROXY_ENV, LXD_DIR: daemon.lxdDir },
      detached: true,
      stdio: ["ignore", output, output],
    },
  );
  closeSync(output);
  if (child.pid === undefined) {
    throw new Error("Failed to start lxd: is the lxd package installed?");
  }
  child.unref();
  await fs.writeFile(pidFile(options.name), `${child.pid}\n`);

  try {
    await initializeDaemon(options);
  } catch (error) {
    await stopTestDaemon(options.name);
    throw error;
  }
  return daemon;
}

const LXCFS_MEMINFO = "/var/lib/lxcfs/proc/meminfo";

// Without a live lxcfs, containers see the host's /proc/meminfo instead of
// their memory limit, and the limit tests would fail for a reason far from
// their cause.
async function assertLxcfsServing(): Promise<void> {
  try {
    const handle = await fs.open(LXCFS_MEMINFO, "r");
    await handle.close();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(
      `lxcfs does not serve ${LXCFS_MEMINFO} (${reason}); start it with scripts/start-lxcfs.sh`,
    );
  }
}

async function initializeDaemon(
  options: StartTestDaemonOptions,
): Promise<void> {
  const ready = await runCommand(
    "lxd",
    ["waitready", "--timeout", String(READY_TIMEOUT_SECONDS)],
    { env: daemonEnv(options.name) },
  );
  if (ready.code !== 0) {
    const logFile = path.join(TEST_DAEMON_ROOT, options.name, "lxd.log");
    throw new Error(
      `LXD daemon ${options.name} did not become ready within ${READY_TIMEOUT_SECONDS} s: ` +
        `${ready.stderr.trim()} (log: ${logFile})`,
    );
  }

  await runCommandOrThrow("lxd", ["init", "--preseed"], {
    env: daemonEnv(options.name),
    input: options.preseed ?? preseed(options.httpsPort),
  });
}

/**
 * Returns a handle to the daemon named `name` without starting it, for a
 * process that uses a daemon another process started.
 */
export function testDaemonHandle(options: StartTestDaemonOptions): TestDaemon {
  assertDaemonName(options.name);
  const lxdDir = path.join(TEST_DAEMON_ROOT, options.name);

  return {
    name: options.name,
    lxdDir,
    socketPath: path.join(lxdDir, "unix.socket"),
    httpsUrl: `https://127.0.0.1:${options.httpsPort}`,
    lxc: (args, lxcOptions = {}) =>
      runLxc(options.name, args, lxcOptions.input),
    stop: () => stopTestDaemon(options.name),
  };
}

/** Runs the lxc CLI against the test daemon named `name`. */
export function runLxc(
  name: string,
  args: string[],
  input?: string,
): Promise<CommandResult> {
  return runCommand("lxc", args, { env: daemonEnv(name), input });
}

/**
 * Stops the test daemon named `name` if it runs, deleting its instances
 * first, then unmounts and removes its directory. Does nothing for a name
 * that has no directory.
 */
export async function stopTestDaemon(name: string): Promise<void> {
  assertDaemonName(name);
  const lxdDir = path.join(TEST_DAEMON_ROOT, name);
  const pid = await readDaemonPid(name);

  if (await isResponding(name)) {
    await deleteAllInstances(name);
    await runCommand(
      "lxd",
      ["shutdown", "--timeout", String(SHUTDOWN_TIMEOUT_SECONDS)],
      {
        env: daemonEnv(name),
        timeoutMs: (SHUTDOWN_TIMEOUT_SECONDS + 10) * 1000,
      },
    );
  }
  if (pid !== null) await waitForExit(pid, lxdDir);

  await unmountBelow(lxdDir);
  await fs.rm(lxdDir, { recursive: true, force: true });
  await fs.rm(clientDir(name), { recursive: true, force: true });
  await fs.rm(pidFile(name), { force: true });
}

/**
 * Returns an HTTPS endpoint whose client certificate the daemon trusts and
 * whose pinned server certificate is the daemon's own. The certificate is
 * created with openssl and added with `lxc config trust add` on first use,
 * then reused from the daemon's client directory.
 */
export async function trustedHttpsEndpoint(
  daemon: TestDaemon,
): Promise<Extract<LxdEndpoint, { kind: "https" }>> {
  const dir = clientDir(daemon.name);
  const certPath = path.join(dir, "client.crt");
  const keyPath = path.join(dir, "client.key");

  if (!existsSync(certPath) || !existsSync(keyPath)) {
    await createClientCertificate(certPath, keyPath);
    const added = await daemon.lxc(["config", "trust", "add", certPath]);
    if (added.code !== 0) {
      await fs.rm(certPath, { force: true });
      throw new Error(`lxc config trust add failed: ${added.stderr.trim()}`);
    }
  }

  return {
    kind: "https",
    url: daemon.httpsUrl,
    clientCert: await fs.readFile(certPath, "utf8"),
    clientKey: await fs.readFile(keyPath, "utf8"),
    serverCert: await fs.readFile(
      path.join(daemon.lxdDir, "server.crt"),
      "utf8",
    ),
  };
}

/** Creates a self-signed client certificate and key (PEM) with openssl. */
export async function createClientCertificate(
  certPath: string,
  keyPath: string,
): Promise<void> {
  await runCommandOrThrow("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:secp384r1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "30",
    "-subj",
    "/CN=sandbox-console-test",
  ]);
  await fs.chmod(keyPath, 0o600);
}

async function assertPortFree(port: number): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `Port 127.0.0.1:${port} for the test daemon's HTTPS listener is not available (${code}). ` +
        "Stop the process that uses it or choose another port.",
    );
  } finally {
    server.close();
  }
}

function preseed(httpsPort: number): string {
  return [
    "config:",
    `  core.https_address: 127.0.0.1:${httpsPort}`,
    "networks: []",
    "storage_pools:",
    "- name: default",
    "  driver: dir",
    "profiles:",
    "- name: default",
    "  devices:",
    "    root:",
    "      path: /",
    "      pool: default",
    "      type: disk",
    "",
  ].join("\n");
}

async function deleteAllInstances(name: string): Promise<void> {
  const listed = await runLxc(name, [
    "list",
    "--all-projects",
    "--format",
    "json",
  ]);
  if (listed.code !== 0) return;

  const instances = JSON.parse(listed.stdout) as Array<{
    name: string;
    project?: string;
  }>;
  for (const instance of instances) {
    await runLxc(name, [
      "delete",
      "--force",
      "--project",
      instance.project ?? "default",
      instance.name,
    ]);
  }
}

async function isResponding(name: string): Promise<boolean> {
  if (!existsSync(path.join(TEST_DAEMON_ROOT, name, "unix.socket"))) {
    return false;
  }
  const ready = await runCommand("lxd", ["waitready", "--timeout", "5"], {
    env: daemonEnv(name),
  });
  return ready.code === 0;
}

/**
 * Waits for the daemon process to exit, and kills it if it does not. The pid
 * is only signalled while /proc shows an lxd process with this LXD_DIR, so a
 * reused pid is never touched.
 */
async function waitForExit(pid: number, lxdDir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!(await isDaemonProcess(pid, lxdDir))) return;
    if (attempt === 50) process.kill(pid, "SIGTERM");
    await sleep(100);
  }
  if (await isDaemonProcess(pid, lxdDir)) process.kill(pid, "SIGKILL");
  await sleep(500);
}

async function isDaemonProcess(pid: number, lxdDir: string): Promise<boolean> {
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8");
    const environ = await fs.readFile(`/proc/${pid}/environ`, "utf8");
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    // A zombie has exited, and only its parent has not collected it yet.
    if (/^\d+ \(.*\) Z /.test(stat)) return false;
    return (
      cmdline.split("\0")[0]?.endsWith("lxd") === true &&
      environ.split("\0").includes(`LXD_DIR=${lxdDir}`)
    );
  } catch {
    return false;
  }
}

/**
 * Unmounts every mount point below `dir`, deepest first, so removing the
 * directory never reaches into a mounted file system. Throws if one stays.
 */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = await mountPointsBelow(dir);
  for (const mountPoint of mounts) {
    const result = await runCommand("umount", [mountPoint]);
    if (result.code !== 0) await runCommand("umount", ["--lazy", mountPoint]);
  }

  const remaining = await mountPointsBelow(dir);
  if (remaining.length > 0) {
    throw new Error(
      `Cannot remove ${dir}: still mounted at ${remaining.join(", ")}`,
    );
  }
}

async function mountPointsBelow(dir: string): Promise<string[]> {
  const mountinfo = await fs.readFile("/proc/self/mountinfo", "utf8");
  const prefix = `${dir}/`;
  const points = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined)
    .map(decodeMountPath)
    .filter((point) => point === dir || point.startsWith(prefix));
  // Deepest first, so nested mounts come off before their parents.
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

// mountinfo escapes space, tab, newline and backslash as octal.
function decodeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

async function readDaemonPid(name: string): Promise<number | null> {
  try {
    const text = await fs.readFile(pidFile(name), "utf8");
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function daemonEnv(name: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LXD_DIR: path.join(TEST_DAEMON_ROOT, name),
    // The lxc CLI keeps its configuration here instead of ~/.config/lxc.
    LXD_CONF: path.join(clientDir(name), "lxc-config"),
  };
}

function clientDir(name: string): string {
  return path.join(TEST_DAEMON_ROOT, `${name}.client`);
}

/** Returns the file that contains the process id of the test daemon `name`. */
export function pidFile(name: string): string {
  return path.join(TEST_DAEMON_ROOT, `${name}.pid`);
}

function assertDaemonName(name: string): void {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) {
    throw new Error(
      `Invalid test daemon name ${JSON.stringify(name)}: use lowercase letters, digits and hyphens`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
