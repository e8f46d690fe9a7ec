import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { runCommandOrThrow, type CommandResult } from "./run-command";

/** Alias under which the test image is imported into a test daemon. */
export const TINY_IMAGE_ALIAS = "test-tiny";

/** Value of the image property `sandbox_kind` carried by the test image. */
export const TINY_IMAGE_SANDBOX_KIND = "test";

export const TINY_IMAGE_DESCRIPTION = "busybox test image (test-tiny)";

const CACHE_DIR = "/var/cache/sandbox-console/images";

/** Statically linked busybox from Debian's busybox-static package. */
const BUSYBOX_PATH = "/bin/busybox";

// Bump when the rootfs layout changes, so cached tarballs are rebuilt.
const LAYOUT_VERSION = "1";

// PID 1 ignores every signal it has no handler for. LXD stops a container by
// sending SIGPWR to init and restarts it with SIGINT, so both are trapped,
// and the wait builtin returns as soon as a trapped signal arrives.
const INIT_SCRIPT = `#!/bin/sh
ip link set lo up

sleeper=""
halt() {
  if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi
  exit 0
}
trap halt PWR TERM INT

while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
`;

interface TinyImageInputs {
  busybox: Buffer;
  busyboxVersion: string;
  architecture: string;
}

/**
 * Builds (or takes from the cache) a unified LXD image tarball holding a
 * busybox rootfs of about 2 MB, and returns its path. Tarballs are cached in
 * /var/cache/sandbox-console/images/ under a hash of their inputs.
 */
export async function buildTinyImage(): Promise<string> {
  const inputs = await readInputs();
  const hash = createHash("sha256")
    .update(LAYOUT_VERSION)
    .update(INIT_SCRIPT)
    .update(inputs.architecture)
    .update(inputs.busybox)
    .digest("hex");
  const tarball = path.join(CACHE_DIR, `test-tiny-${hash.slice(0, 16)}.tar.gz`);

  if (existsSync(tarball)) return tarball;

  await fs.mkdir(CACHE_DIR, { recursive: true });
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), "test-tiny-"));
  try {
    await writeRootfs(path.join(staging, "rootfs"), inputs);
    await fs.writeFile(
      path.join(staging, "metadata.yaml"),
      metadataYaml(inputs),
    );

    // Write beside the final name and rename, so a concurrent or interrupted
    // build never leaves a truncated tarball under the cached name.
    const partial = `${tarball}.${process.pid}.partial`;
    await runCommandOrThrow("tar", [
      "--create",
      "--gzip",
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "--file",
      partial,
      "--directory",
      staging,
      "metadata.yaml",
      "rootfs",
    ]);
    await fs.rename(partial, tarball);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return tarball;
}

/**
 * Imports the test image into a daemon under the alias `test-tiny`, unless
 * an image with that alias is already there.
 */
export async function importTinyImage(daemon: {
  lxc(args: string[]): Promise<CommandResult>;
}): Promise<void> {
  const existing = await daemon.lxc(["image", "info", TINY_IMAGE_ALIAS]);
  if (existing.code === 0) return;

  const tarball = await buildTinyImage();
  const result = await daemon.lxc([
    "image",
    "import",
    tarball,
    "--alias",
    TINY_IMAGE_ALIAS,
  ]);
  if (result.code !== 0) {
    throw new Error(
      `lxc image import ${tarball} failed: ${result.stderr.trim()}`,
    );
  }
}

async function readInputs(): Promise<TinyImageInputs> {
  if (!existsSync(BUSYBOX_PATH)) {
    throw new Error(
      `${BUSYBOX_PATH} not found: install it with apt-get install busybox-static`,
    );
  }

  const busybox = await fs.readFile(BUSYBOX_PATH);
  const banner = await runCommandOrThrow(BUSYBOX_PATH, ["--help"]);
  const version = /BusyBox v(\S+)/.exec(banner.stdout + banner.stderr)?.[1];
  const architecture = (await runCommandOrThrow("uname", ["-m"])).stdout.trim();

  return { busybox, busyboxVersion: version ?? "unknown", architecture };
}

async function writeRootfs(
  rootfs: string,
  inputs: TinyImageInputs,
): Promise<void> {
  for (const dir of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root"]) {
    await fs.mkdir(path.join(rootfs, dir), { recursive: true });
  }
  for (const dir of ["dev", "proc", "sys", "run", "var/log"]) {
    await fs.mkdir(path.join(rootfs, dir), { recursive: true });
  }
  await fs.mkdir(path.join(rootfs, "tmp"), { mode: 0o1777 });
  await fs.chmod(path.join(rootfs, "tmp"), 0o1777);

  await fs.writeFile(path.join(rootfs, "bin/busybox"), inputs.busybox, {
    mode: 0o755,
  });

  // One symlink per applet at the path busybox itself reports, such as
  // bin/sh or sbin/ip. The init applet is skipped: /sbin/init is the script.
  const applets = await runCommandOrThrow(BUSYBOX_PATH, ["--list-full"]);
  for (const applet of applets.stdout.split("\n")) {
    if (applet === "" || applet === "sbin/init" || applet === "bin/busybox") {
      continue;
    }
    await fs.symlink("/bin/busybox", path.join(rootfs, applet));
  }

  await fs.writeFile(path.join(rootfs, "sbin/init"), INIT_SCRIPT, {
    mode: 0o755,
  });
  await fs.writeFile(
    path.join(rootfs, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\n",
  );
  await fs.writeFile(path.join(rootfs, "etc/group"), "root:x:0:\n");
}

function metadataYaml(inputs: TinyImageInputs): string {
  const createdAt = Math.floor(Date.now() / 1000);

  return [
    `architecture: ${inputs.architecture}`,
    `creation_date: ${createdAt}`,
    "properties:",
    `  architecture: ${inputs.architecture}`,
    `  description: ${JSON.stringify(TINY_IMAGE_DESCRIPTION)}`,
    "  os: busybox",
    `  release: ${JSON.stringify(inputs.busyboxVersion)}`,
    `  sandbox_kind: ${TINY_IMAGE_SANDBOX_KIND}`,
    "templates: {}",
    "",
  ].join("\n");
}
