import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { TINY_IMAGE_ALIAS } from "../test/harness/tiny-image";
import { lxc } from "./support/session";

// An instance with 400 MiB of random data, so that copying it into a
// snapshot on the dir pool takes long enough to watch its operation.
const name = `progress-${randomBytes(3).toString("hex")}`;

test.describe.serial("toolbox operation progress", () => {
  test.beforeAll(async () => {
    test.setTimeout(180_000);
    await lxc("launch", TINY_IMAGE_ALIAS, name);
    await lxc("exec", name, "--", "dd", "if=/dev/urandom", "of=/root/filler", "bs=1M", "count=400");
  });

  test.afterAll(async () => {
    await lxc("delete", "--force", name).catch(() => undefined);
  });

  test("snapshot shows its running operation", async ({ page }) => {
    await page.goto(`/instances/e2e/default/${name}`);
    const snapshots = page.getByRole("region", { name: /^Snapshots/ });

    await snapshots.getByLabel("Snapshot name").fill("watched");
    await snapshots.getByRole("button", { name: "Take snapshot" }).click();

    const running = snapshots.getByTestId("running-operations");
    await expect(running).toContainText('Taking snapshot "watched"…');
    const progress = running.getByTestId("operation-progress");
    await expect(progress).toContainText("Snapshotting instance");
    await expect(progress.getByRole("progressbar")).toBeVisible();
    await expect(progress.getByTestId("operation-elapsed")).toContainText(/running for \d+ s/);
    await running.scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath("snapshot-progress.png") });

    await expect(page.getByTestId("snapshot-message")).toHaveText('Snapshot "watched" taken.', {
      timeout: 60_000,
    });
    await expect(running).toHaveCount(0);
  });

  test("operations page records the snapshot", async ({ page }) => {
    await page.goto("/operations");
    const row = page.getByTestId("operation-row").filter({ hasText: name }).first();
    await expect(row).toContainText("instance.snapshot.create");
    await expect(row).toContainText("success");
  });
});
