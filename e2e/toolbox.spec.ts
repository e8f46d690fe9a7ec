import { randomBytes } from "node:crypto";

import { expect, test, type Page } from "@playwright/test";

import { runCommand } from "../test/harness/run-command";
import { TINY_IMAGE_ALIAS, importTinyImage } from "../test/harness/tiny-image";
import { instanceStatus, lxc } from "./support/session";

// An instance of the busybox test image of its own, so the demo sandbox
// that other specs watch is left alone.
const name = `toolbox-${randomBytes(3).toString("hex")}`;
const pagePath = `/instances/e2e/default/${name}`;

async function configValue(key: string): Promise<string> {
  const { stdout } = await lxc("config", "get", name, key);
  return stdout.trim();
}

async function fileInside(path: string): Promise<string> {
  const { stdout } = await lxc("exec", name, "--", "cat", path);
  return stdout;
}

function region(page: Page, title: string | RegExp) {
  return page.getByRole("region", { name: title });
}

test.describe.serial("instance toolbox", () => {
  test.beforeAll(async () => {
    const lxdDir = process.env.E2E_LXD_DIR;
    if (!lxdDir) throw new Error("E2E_LXD_DIR is unset; the global setup did not run");
    // lxc launch reads a config from stdin when stdin is not a terminal, so
    // it runs with stdin closed here instead of through the lxc helper.
    const daemon = {
      lxc: (args: string[]) => runCommand("lxc", args, { env: { ...process.env, LXD_DIR: lxdDir } }),
    };
    await importTinyImage(daemon);
    const launched = await daemon.lxc(["launch", TINY_IMAGE_ALIAS, name]);
    if (launched.code !== 0) throw new Error(`lxc launch failed: ${launched.stderr.trim()}`);
  });

  test.afterAll(async () => {
    await lxc("delete", "--force", name).catch(() => undefined);
  });

  test("snapshots: take, stateful rejected, restore, schedule, delete", async ({ page }) => {
    await lxc("exec", name, "--", "sh", "-c", "echo before > /root/mark");
    await page.goto(pagePath);
    const snapshots = region(page, /^Snapshots/);
    const message = page.getByTestId("snapshot-message");

    await snapshots.getByLabel("Snapshot name").fill("first");
    await snapshots.getByRole("button", { name: "Take snapshot" }).click();
    await expect(message).toHaveText('Snapshot "first" taken.');
    await expect(page.getByTestId("snapshot-row-first")).toContainText("never");

    await snapshots.getByLabel("Snapshot name").fill("bad name");
    await snapshots.getByRole("button", { name: "Take snapshot" }).click();
    await expect(message).toContainText('Invalid snapshot name "bad name": it contains a space');

    // CRIU is missing on this machine: LXD's failure turns the option off.
    await snapshots.getByLabel("Snapshot name").fill("with-memory");
    await snapshots.getByLabel(/Stateful/).check();
    await snapshots.getByRole("button", { name: "Take snapshot" }).click();
    await expect(message).toContainText(/criu/i);
    await expect(page.getByTestId("stateful-reason")).toContainText("cannot save container memory");
    await expect(snapshots.getByLabel(/Stateful/)).toBeDisabled();

    await lxc("exec", name, "--", "sh", "-c", "echo after > /root/mark");
    await page.getByTestId("snapshot-row-first").getByRole("button", { name: "Restore" }).click();
    const dialog = page.getByRole("dialog");
    await expect(dialog).toContainText("is lost");
    await page.screenshot({ path: "test-results/toolbox-restore.png" });
    await dialog.getByRole("button", { name: "Restore and lose later changes" }).click();
    await expect(message).toHaveText('Restored to snapshot "first".', { timeout: 60_000 });
    expect(await fileInside("/root/mark")).toBe("before\n");

    const schedule = page.getByRole("form", { name: "Snapshot schedule" });
    await schedule.getByRole("textbox", { name: /^Schedule/ }).fill("every day");
    await schedule.getByRole("button", { name: "Save schedule" }).click();
    await expect(page.getByTestId("schedule-message")).toContainText(
      'Invalid value "every day" for snapshots.schedule',
    );
    expect(await configValue("snapshots.schedule")).toBe("");

    await schedule.getByRole("textbox", { name: /^Schedule/ }).fill("0 3 * * *");
    await schedule.getByRole("textbox", { name: /^Expiry/ }).fill("2w");
    await schedule.getByRole("button", { name: "Save schedule" }).click();
    await expect(page.getByTestId("schedule-message")).toHaveText(
      "Saved snapshots.schedule, snapshots.expiry.",
    );
    expect(await configValue("snapshots.schedule")).toBe("0 3 * * *");
    expect(await configValue("snapshots.expiry")).toBe("2w");

    await page.getByRole("button", { name: "Delete snapshot first" }).click();
    await expect(message).toHaveText('Snapshot "first" deleted.');
    await expect(page.getByTestId("snapshot-row-first")).toBeHidden();
    await page.screenshot({ path: "test-results/toolbox-snapshots.png", fullPage: true });
  });

  test("snapshots: a long name wraps inside the page", async ({ page }) => {
    const longName = `long-${"a".repeat(240)}`;
    await page.goto(pagePath);
    const snapshots = region(page, /^Snapshots/);
    await snapshots.getByLabel("Snapshot name").fill(longName);
    await snapshots.getByRole("button", { name: "Take snapshot" }).click();
    await expect(page.getByTestId("snapshot-message")).toHaveText(`Snapshot "${longName}" taken.`);

    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(pageWidth).toBeLessThanOrEqual(1440);
    await page.screenshot({ path: "test-results/toolbox-long-snapshot-name.png", fullPage: true });

    await page.getByRole("button", { name: `Delete snapshot ${longName}` }).click();
    await expect(page.getByTestId("snapshot-message")).toHaveText(`Snapshot "${longName}" deleted.`);
  });

  test("limits: apply, reject, conflict, preset", async ({ page }) => {
    await page.goto(pagePath);
    const limits = region(page, "Resource limits");
    const message = page.getByTestId("limits-message");

    await limits.getByLabel("CPU allowance").fill("25ms/100ms");
    await limits.getByLabel("Memory", { exact: true }).fill("256MiB");
    await limits.getByLabel("Processes").fill("200");
    await limits.getByRole("button", { name: "Apply limits" }).click();
    await expect(message).toHaveText(
      "Applied limits.cpu.allowance=25ms/100ms, limits.memory=256MiB, limits.processes=200.",
    );
    expect(await configValue("limits.memory")).toBe("256MiB");
    await expect(page.getByTestId("limit-effective-limits.memory")).toHaveText("256MiB");
    const meminfo = await fileInside("/proc/meminfo");
    expect(meminfo).toMatch(/^MemTotal:\s+262144 kB/);

    await limits.getByLabel("Memory", { exact: true }).fill("1 GB");
    await limits.getByRole("button", { name: "Apply limits" }).click();
    await expect(message).toContainText('Invalid value "1 GB" for limits.memory');
    await expect(message).toContainText("Accepted forms:");
    expect(await configValue("limits.memory")).toBe("256MiB");

    // A change made elsewhere after the page loaded is reported, not overwritten.
    await lxc("config", "set", name, "limits.processes", "300");
    await limits.getByLabel("Memory", { exact: true }).fill("256MiB");
    await limits.getByLabel("Processes").fill("250");
    await limits.getByRole("button", { name: "Apply limits" }).click();
    await expect(message).toContainText("changed after you loaded it");
    expect(await configValue("limits.processes")).toBe("300");
    await expect(limits.getByLabel("Processes")).toHaveValue("300");

    await page.getByRole("form", { name: "Apply preset" }).getByLabel("Preset").selectOption("small");
    await page.getByRole("button", { name: "Apply preset" }).click();
    await expect(message).toContainText('Preset "small": Applied');
    expect(await configValue("limits.memory")).toBe("1GiB");
    expect(await configValue("limits.cpu")).toBe("1");
    await page.screenshot({ path: "test-results/toolbox-limits.png", fullPage: true });
  });

  test("presets: add, edit and remove", async ({ page }) => {
    await page.goto(pagePath);
    const editor = page.getByRole("form", { name: "Preset editor" });
    await editor.getByLabel("Preset name").fill("e2e-tiny");
    await editor.getByLabel("Preset limits.memory", { exact: true }).fill("96MiB");
    await editor.getByRole("button", { name: "Save preset" }).click();
    await expect(page.getByTestId("preset-message")).toHaveText('Preset "e2e-tiny" saved.');
    await expect(page.getByTestId("preset-row-e2e-tiny")).toContainText("limits.memory=96MiB");

    await page.getByRole("button", { name: "Edit preset e2e-tiny" }).click();
    await editor.getByLabel("Preset limits.processes").fill("64");
    await editor.getByRole("button", { name: "Save preset" }).click();
    await expect(page.getByTestId("preset-row-e2e-tiny")).toContainText("limits.processes=64");

    await page.getByRole("button", { name: "Remove preset e2e-tiny" }).click();
    await expect(page.getByTestId("preset-row-e2e-tiny")).toBeHidden();
  });

  test("bulk snapshot from the list", async ({ page }) => {
    await page.goto("/instances");
    await page.getByLabel(`Select ${name}`).check();
    const bar = page.getByRole("region", { name: "Bulk actions" });
    await expect(bar).toContainText("1 selected");
    await bar.getByRole("button", { name: "Snapshot" }).click();
    await expect(page.getByTestId("bulk-results")).toContainText(`${name} (e2e/default): snapshot done`);
    await page.screenshot({ path: "test-results/toolbox-bulk.png", fullPage: true });
  });

  test("incident freezes and snapshots, then delete needs the name", async ({ page }) => {
    await page.goto(pagePath);
    await page.getByRole("button", { name: "Incident…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("Unexpected outbound traffic");
    await dialog.getByRole("button", { name: "Freeze and snapshot" }).click();
    await expect(page.getByTestId("incident-message")).toContainText(
      /Incident recorded: froze the instance, snapshot "incident-\d{8}-\d{6}"/,
    );
    expect(await instanceStatus(name)).toBe("FROZEN");
    await expect(page.getByTestId("snapshot-row-first")).toBeHidden();

    await page.getByRole("button", { name: "Delete instance…" }).click();
    const confirm = page.getByRole("dialog");
    await confirm.getByLabel(/Type/).fill(name);
    const kill = confirm.getByRole("button", { name: "Kill and delete" });
    await expect(kill).toBeDisabled();
    await confirm.getByRole("checkbox").check();
    await page.screenshot({ path: "test-results/toolbox-delete.png" });
    await kill.click();
    await expect(page).toHaveURL(/\/instances$/, { timeout: 60_000 });
    expect(await instanceStatus(name)).toBe("");
  });
});
