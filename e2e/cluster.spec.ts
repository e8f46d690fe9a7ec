import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { lxcOn } from "../test/harness/lxc";
import { startTestCluster, type TestCluster } from "../test/harness/lxd-cluster";
import { TINY_IMAGE_ALIAS, importTinyImage } from "../test/harness/tiny-image";

// A two-member cluster of private daemons, added to the running console
// through the hosts page with a trust token, as an admin would add one.
const hostId = `clu-${randomBytes(2).toString("hex")}`;
const name = `member-${randomBytes(3).toString("hex")}`;
let cluster: TestCluster | null = null;

function requireCluster(): TestCluster {
  if (!cluster) throw new Error("the cluster did not start");
  return cluster;
}

/** Returns the member that `lxc list` shows the instance on. */
async function memberOf(instance: string): Promise<string> {
  const out = await lxcOn(requireCluster().first, [
    "list",
    `^${instance}$`,
    "--format",
    "csv",
    "--columns",
    "L",
  ]);
  return out.trim();
}

test.describe.serial("cluster members", () => {
  test.beforeAll(async () => {
    test.setTimeout(180_000);
    cluster = await startTestCluster({ names: ["tb-c1", "tb-c2"], ports: [18483, 18484] });
    await importTinyImage(cluster.first);
    await lxcOn(cluster.first, ["init", TINY_IMAGE_ALIAS, name, "--target", "tb-c1"]);
  });

  test.afterAll(async () => {
    await cluster?.stop();
  });

  test("hosts page adds a cluster and lists its members", async ({ page }) => {
    const tokenOutput = await lxcOn(requireCluster().first, [
      "config",
      "trust",
      "add",
      "--name",
      "e2e-console",
    ]);
    const token = tokenOutput.trim().split("\n").at(-1) ?? "";

    await page.goto("/hosts");
    await page.getByLabel("Id", { exact: true }).fill(hostId);
    await page.getByLabel("Name", { exact: true }).fill("Toolbox cluster");
    await page.getByLabel("Address").fill("https://127.0.0.1:18483");
    await page.getByLabel("Trust token").fill(token);
    await page.getByRole("button", { name: "Add host" }).click();

    await expect(page.getByRole("status")).toContainText(
      "cluster members: tb-c1 (Online), tb-c2 (Online)",
      { timeout: 30_000 },
    );
    const members = page.getByTestId(`host-${hostId}-members`);
    await expect(members).toContainText("Cluster members (2)");
    await expect(members.getByTestId("member-tb-c1")).toContainText("https://127.0.0.1:18483");
    await expect(members.getByTestId("member-tb-c2")).toContainText("Online");
    await page.screenshot({ path: test.info().outputPath("hosts-cluster.png"), fullPage: true });
  });

  test("migrate dialog moves to the other member", async ({ page }) => {
    await page.goto(`/instances/${hostId}/default/${name}`);
    await page.getByRole("button", { name: "Migrate" }).click();
    const dialog = page.getByRole("dialog", { name: `Migrate ${name}` });

    const target = dialog.getByLabel("Move to");
    await expect(target.getByRole("option", { name: "Cluster member tb-c2" })).toHaveCount(1);
    // The instance is on tb-c1, so that member is no target.
    await expect(target.getByRole("option", { name: "Cluster member tb-c1" })).toHaveCount(0);
    await target.selectOption("member:tb-c2");
    await page.screenshot({ path: test.info().outputPath("migrate-member-dialog.png") });

    await dialog.getByRole("button", { name: "Migrate", exact: true }).click();
    await expect(dialog.getByText("Moved to member tb-c2.")).toBeVisible({ timeout: 60_000 });
    expect(await memberOf(name)).toBe("tb-c2");
    await page.screenshot({ path: test.info().outputPath("migrate-member-done.png") });
  });

  test("removing the cluster host drops it", async ({ page }) => {
    await page.goto("/hosts");
    page.once("dialog", (confirm) => void confirm.accept());
    await page.getByTestId(`host-${hostId}`).getByRole("button", { name: "Remove" }).click();
    await expect(page.getByRole("status")).toContainText(`Host ${hostId} removed.`);
    await expect(page.getByTestId(`host-${hostId}`)).toHaveCount(0);
  });
});
