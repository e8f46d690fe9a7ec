import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

import { expect, test } from "@playwright/test";

import { instanceStatus } from "./support/session";
import { expectConnected, expectDemoBlock, visibleViewer } from "./support/vnc";

const execFileAsync = promisify(execFile);

/**
 * Runs the lxc CLI against the daemon in the environment variable `lxdDirVariable`,
 * failing after 2 minutes with lxc's own error output.
 */
async function lxcOn(lxdDirVariable: string, ...args: string[]) {
  const lxdDir = process.env[lxdDirVariable];
  if (!lxdDir) throw new Error(`${lxdDirVariable} is unset; the global setup did not run`);
  const run = execFileAsync("lxc", args, {
    env: { ...process.env, LXD_DIR: lxdDir },
    timeout: 120_000,
  });
  // lxc init and launch read an instance config from a stdin that is not a
  // terminal, and would wait for this pipe to close.
  run.child.stdin?.end();
  try {
    return await run;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`lxc ${args.join(" ")} failed: ${stderr ?? String(error)}`);
  }
}

const lxcA = (...args: string[]) => lxcOn("E2E_LXD_DIR", ...args);
const lxcB = (...args: string[]) => lxcOn("E2E_SECOND_LXD_DIR", ...args);

async function statusOnB(name: string): Promise<string> {
  const { stdout } = await lxcB("list", `^${name}$`, "--format", "csv", "--columns", "s");
  return stdout.trim();
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

const created: { host: "a" | "b"; name: string }[] = [];

// The demo sandbox uses the "sandbox" profile, which a target host must
// have too, so the second daemon gets a copy of it.
test.beforeAll(async () => {
  const { stdout: profile } = await lxcA("profile", "show", "sandbox");
  const existing = await lxcB("profile", "show", "sandbox").catch(() => null);
  if (existing === null) await lxcB("profile", "create", "sandbox");
  const lxdDir = process.env.E2E_SECOND_LXD_DIR ?? "";
  const edit = execFile("lxc", ["profile", "edit", "sandbox"], {
    env: { ...process.env, LXD_DIR: lxdDir },
  });
  edit.stdin?.end(profile);
  await new Promise<void>((resolve, reject) =>
    edit.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`lxc profile edit exited with ${code}`)),
    ),
  );
});

test.afterAll(async () => {
  for (const { host, name } of created) {
    const run = host === "a" ? lxcA : lxcB;
    await run("delete", "--force", name).catch(() => undefined);
  }
});

test.describe("clone and migrate", () => {
  test("clone to another host shows progress", async ({ page }) => {
    // Copying the 790 MB browser root file system over loopback takes about
    // 30 s on an idle 2-core machine, longer under load.
    test.setTimeout(420_000);
    // The demo browser sandbox is large enough for LXD to report transfer progress.
    const copy = uniqueName("demo-copy");
    created.push({ host: "b", name: copy });
    await page.goto("/instances/e2e/default/demo-browser");

    await page.getByRole("button", { name: "Clone" }).click();
    const dialog = page.getByRole("dialog", { name: "Clone demo-browser" });
    await dialog.getByLabel("New name").fill(copy);
    await dialog.getByLabel("Host").selectOption("e2e-b");
    await dialog.getByLabel("Copy without snapshots").check();
    await dialog.getByLabel("Start the copy").uncheck();
    await dialog.getByRole("button", { name: "Clone", exact: true }).click();

    await expect(dialog.getByRole("progressbar").first()).toBeVisible({ timeout: 30_000 });
    await page.screenshot({ path: test.info().outputPath("clone-progress.png") });
    await expect(dialog.getByText(`Copied to ${copy} on e2e-b.`)).toBeVisible({ timeout: 270_000 });
    expect(await statusOnB(copy)).toBe("STOPPED");
    expect(await instanceStatus("demo-browser")).toBe("RUNNING");

    // The copy boots on the other host, and its VNC server accepts a view through the console.
    await lxcB("start", copy);
    await page.goto(`/instances/e2e-b/default/${copy}`);
    const viewer = visibleViewer(page);
    await expectConnected(viewer, 120_000);
    // Chromium in the copy shows the demo page, not a "profile in use" dialog
    // left by the source's running Chromium.
    await expectDemoBlock(viewer, 120_000);
    await page.screenshot({ path: test.info().outputPath("clone-live-view.png") });
    await lxcB("stop", "--force", copy);
  });

  test("migrate explains live moves and reports downtime", async ({ page }) => {
    test.setTimeout(180_000);
    const name = uniqueName("mover");
    created.push({ host: "a", name }, { host: "b", name });
    await test.step("create the instance", async () => {
      await lxcA("init", "test-tiny", name);
      await lxcA("start", name);
    });
    await page.goto(`/instances/e2e/default/${name}`);

    await page.getByRole("button", { name: "Migrate" }).click();
    const dialog = page.getByRole("dialog", { name: `Migrate ${name}` });
    await expect(dialog.getByLabel("Move to")).toHaveValue("host:e2e-b");
    await expect(dialog.getByTestId("live-reason")).toContainText("CRIU");
    await page.screenshot({ path: test.info().outputPath("migrate-dialog.png") });

    // A live move fails here and leaves the container running where it was.
    await dialog.getByLabel("Move it live, with its memory state.").check();
    await dialog.getByRole("button", { name: "Migrate", exact: true }).click();
    await expect(dialog.getByRole("alert")).toContainText(`Nothing was left on host "e2e-b"`, {
      timeout: 60_000,
    });
    expect(await instanceStatus(name)).toBe("RUNNING");
    expect(await statusOnB(name)).toBe("");

    await dialog.getByLabel("Stop it, move it and start it again.", { exact: false }).check();
    await dialog.getByRole("button", { name: "Migrate", exact: true }).click();
    await expect(dialog.getByText(/Moved to host e2e-b, stopped for \d+\.\d s\./)).toBeVisible({
      timeout: 60_000,
    });
    await page.screenshot({ path: test.info().outputPath("migrate-done.png") });
    expect(await statusOnB(name)).toBe("RUNNING");
    expect(await instanceStatus(name)).toBe("");
  });

  test("operations page lists the history", async ({ page }) => {
    await page.goto("/operations");
    await expect(page.getByRole("heading", { name: "Operations" })).toBeVisible();
    await expect(page.getByTestId("operation-row").first()).toBeVisible();
    await expect(page.getByText("instance.migrate").first()).toBeVisible();
    await page.screenshot({ path: test.info().outputPath("operations.png"), fullPage: true });
  });

  test("hosts page lists both daemons", async ({ page }) => {
    await page.goto("/hosts");
    await expect(page.getByTestId("host-e2e")).toContainText("online");
    await expect(page.getByTestId("host-e2e-b")).toContainText("online");
    await page.getByTestId("host-e2e-b").getByRole("button", { name: "Test" }).click();
    await expect(page.getByRole("status")).toContainText("LXD 5.0.2");
    await page.screenshot({ path: test.info().outputPath("hosts.png"), fullPage: true });
  });
});
