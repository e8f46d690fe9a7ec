import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { testDatabaseUrl } from "@/lib/db/test-database";
import { runCommandOrThrow } from "../test/harness/run-command";
import { startTestDaemon, type TestDaemon } from "../test/harness/lxd-daemon";
import { startTestOidcProvider, type TestOidcProvider } from "../test/harness/oidc-provider";
import { importTinyImage } from "../test/harness/tiny-image";
import { e2ePort } from "../playwright.config";
import { e2eOidcRoleMap, e2eOidcUsers } from "./support/accounts";

const daemonName = "e2e-a";
const daemonHttpsPort = 18444;
/** Second standalone daemon, the target of clone and migrate specs. */
const secondDaemonName = "e2e-b";
const secondDaemonHttpsPort = 18445;
const root = path.resolve(import.meta.dirname, "..");

/** Environment the specs read: which daemon to drive with the lxc CLI. */
export const e2eEnv = {
  lxdDir: "E2E_LXD_DIR",
  secondLxdDir: "E2E_SECOND_LXD_DIR",
} as const;

/**
 * Runs a set-up step with its output shown, since image builds and the
 * console build take minutes on a first run.
 */
function runStep(program: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(" ")} exited with ${code}`));
    });
  });
}

async function waitForHealth(url: string, server: ChildProcess, logPath: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) break;
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const output = await readFile(logPath, "utf8").catch(() => "(no log was written)");
  throw new Error(`The console did not answer ${url}; its output:\n${output}`);
}

/** Throws when a process, such as a console left by an earlier run, listens on the port. */
async function assertPortFree(port: number) {
  const inUse = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
  if (inUse) {
    throw new Error(
      `Port ${port} on 127.0.0.1 is in use, perhaps by a console left from an earlier run; ` +
        `stop it (ss -ltnp 'sport = :${port}' shows the process) and run the tests again.`,
    );
  }
}

/** Writes a self-signed certificate pair for a host entry where no LXD listens. */
async function writeUnreachableHostCerts(dir: string) {
  const cert = path.join(dir, "offline.crt");
  const key = path.join(dir, "offline.key");
  await runCommandOrThrow("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "2", "-subj", "/CN=offline", "-keyout", key, "-out", cert,
  ]);
  return { cert, key };
}

/**
 * Starts a private LXD daemon with the demo browser sandbox, prepares the
 * test database, builds the console and serves it on 127.0.0.1:3100 with
 * two hosts: the test daemon and an address where nothing listens.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  // The seed script, the specs and the console must share one database;
  // without this the console would fall back to an empty PGlite store.
  process.env.DATABASE_URL = testDatabaseUrl();
  const workDir = await mkdtemp(path.join(os.tmpdir(), "sandbox-console-e2e-"));
  // The console and the specs, which inherit this process's environment,
  // write prunes to the same witness file.
  process.env.SANDBOX_CONSOLE_AUDIT_WITNESS = path.join(workDir, "audit-witness.jsonl");
  let daemon: TestDaemon | null = null;
  let secondDaemon: TestDaemon | null = null;
  let server: ChildProcess | null = null;
  let oidcProvider: TestOidcProvider | null = null;

  const teardown = async () => {
    // End the console's whole process group, whatever it started.
    if (server?.pid) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    await daemon?.stop();
    await secondDaemon?.stop();
    await oidcProvider?.stop();
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    daemon = await startTestDaemon({ name: daemonName, httpsPort: daemonHttpsPort });
    const lxdEnv = { LXD_DIR: daemon.lxdDir };
    await runStep("scripts/sandbox-profile.sh", [], lxdEnv);
    await runStep("scripts/build-image.sh", ["browser"], lxdEnv);
    await runStep("scripts/launch-demo.sh", [], lxdEnv);
    process.env[e2eEnv.lxdDir] = daemon.lxdDir;
    await importTinyImage(daemon);
    secondDaemon = await startTestDaemon({ name: secondDaemonName, httpsPort: secondDaemonHttpsPort });
    process.env[e2eEnv.secondLxdDir] = secondDaemon.lxdDir;

    const offline = await writeUnreachableHostCerts(workDir);
    const hostsFile = path.join(workDir, "hosts.json");
    await writeFile(
      hostsFile,
      JSON.stringify([
        { id: "e2e", name: "Test LXD", socket: daemon.socketPath },
        { id: "e2e-b", name: "Second LXD", socket: secondDaemon.socketPath },
        {
          id: "offline",
          name: "Offline host",
          // Port 9 (discard) on loopback: nothing listens there.
          url: "https://127.0.0.1:9",
          clientCertFile: offline.cert,
          clientKeyFile: offline.key,
          serverCertFile: offline.cert,
        },
      ]),
    );

    await runStep("npx", ["tsx", "e2e/support/seed-database.ts"]);
    await runStep("scripts/build-console.sh", []);

    // A real OpenID Connect provider in this process, so the console shows
    // the single sign-on button and the sign-in spec can use it.
    oidcProvider = await startTestOidcProvider({
      redirectUris: [`http://127.0.0.1:${e2ePort}/api/auth/callback/oidc`],
      users: e2eOidcUsers,
    });

    await assertPortFree(e2ePort);
    // The console's log is kept for reading after a failed run. It goes to
    // the file directly: through a pipe to this process, a runner too busy to
    // read would block the console's logging, and with it the console.
    await mkdir(path.join(root, "test-results"), { recursive: true });
    const logPath = path.join(root, "test-results", "console.log");
    const logFd = openSync(logPath, "w");
    // server.ts, bundled by build-console.sh, as scripts/up.sh starts it.
    const serverArgs = [".next/console-server.mjs", "--hostname", "127.0.0.1", "--port", String(e2ePort)];
    server = spawn(process.execPath, serverArgs, {
      cwd: root,
      detached: true,
      env: {
        ...process.env,
        NODE_ENV: "production",
        SANDBOX_CONSOLE_HOSTS: hostsFile,
        SANDBOX_CONSOLE_URL: `http://127.0.0.1:${e2ePort}`,
        SANDBOX_CONSOLE_DATA: workDir,
        BETTER_AUTH_SECRET: "e2e-only-secret-with-enough-length-0123456789",
        OIDC_ISSUER: oidcProvider.issuer,
        OIDC_CLIENT_ID: oidcProvider.clientId,
        OIDC_CLIENT_SECRET: oidcProvider.clientSecret,
        OIDC_ROLE_MAP: e2eOidcRoleMap,
        OIDC_BUTTON_LABEL: "Sign in with Test ID",
        NEXT_TELEMETRY_DISABLED: "1",
      },
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    await waitForHealth(`http://127.0.0.1:${e2ePort}/api/health`, server, logPath);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
