import { expect, test } from "@playwright/test";
import { instanceStatus, lxc } from "./support/session";

const demo = "demo-browser";
const demoRow = `instance-row-e2e-default-${demo}`;

test.describe("sign-in", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("pages redirect to the sign-in page", async ({ page }) => {
    await page.goto("/instances");
    await expect(page).toHaveURL(/\/login/);
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
    await page.screenshot({ path: "test-results/login.png" });
  });

  test("API routes answer 401 without a session", async ({ request }) => {
    const response = await request.get("/api/instances");
    expect(response.status()).toBe(401);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe("unauthenticated");
  });

  test("wrong password is rejected", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Email").fill("e2e-admin@console.localhost");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("status")).toContainText("The email or password is incorrect.");
    await expect(page).toHaveURL(/\/login/);
  });
});

test.describe("instances", () => {
  test.beforeEach(async ({ page }) => {
    if ((await instanceStatus(demo)) !== "RUNNING") await lxc("start", demo);
    await page.goto("/instances");
  });

  test("list shows the demo sandbox and the unreachable host", async ({ page }) => {
    const row = page.getByTestId(demoRow);
    await expect(row).toBeVisible();
    await expect(row.getByTestId("instance-status")).toHaveText("Running");
    await expect(row).toContainText("Sandbox browser");
    await expect(page.getByTestId("host-unreachable-offline")).toContainText("Offline host");
    await expect(page.getByTestId("host-e2e")).toContainText("online");
    await page.screenshot({ path: "test-results/instances.png", fullPage: true });
  });

  test("filter by text and status narrows the list", async ({ page }) => {
    await expect(page.getByTestId(demoRow)).toBeVisible();
    await page.getByLabel("Filter instances").fill("no-such-instance");
    await expect(page.getByTestId(demoRow)).toBeHidden();
    await expect(page.getByText("No instance matches the filters.")).toBeVisible();
    await page.getByLabel("Filter instances").fill("demo");
    await expect(page.getByTestId(demoRow)).toBeVisible();
    await page.getByLabel("Status").selectOption("Running");
    await expect(page.getByTestId(demoRow)).toBeVisible();
  });

  test("stop from lxc shows without reload, start from the page is audited", async ({ page }) => {
    const row = page.getByTestId(demoRow);
    await expect(row.getByTestId("instance-status")).toHaveText("Running");
    // A marker on window survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { e2eMarker: number }).e2eMarker = 1));

    await lxc("stop", demo, "--force");
    await expect(row.getByTestId("instance-status")).toHaveText("Stopped", { timeout: 5_000 });
    expect(await page.evaluate(() => (window as unknown as { e2eMarker?: number }).e2eMarker)).toBe(1);

    await row.getByRole("link", { name: demo }).click();
    await expect(page.getByRole("heading", { name: demo })).toBeVisible();
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await expect(page.getByTestId("action-message")).toHaveText("Instance started.", { timeout: 60_000 });
    await expect(page.getByTestId("instance-status")).toHaveText("Running");
    expect(await instanceStatus(demo)).toBe("RUNNING");
    await page.screenshot({ path: "test-results/instance.png", fullPage: true });

    await page.getByRole("button", { name: "Stop", exact: true }).click();
    await expect(page.getByTestId("action-message")).toHaveText("Instance stopped.", { timeout: 90_000 });
    expect(await instanceStatus(demo)).toBe("STOPPED");

    await page.getByRole("link", { name: "Audit log" }).click();
    const rows = page.getByTestId("audit-row");
    for (const action of ["instance.start", "instance.stop"]) {
      const actionRows = rows.filter({ hasText: action }).filter({ hasText: demo });
      await expect(actionRows.filter({ hasText: "intent" })).toHaveCount(1);
      await expect(actionRows.filter({ hasText: "outcome" }).filter({ hasText: "success" })).toHaveCount(1);
    }
    await page.screenshot({ path: "test-results/audit.png", fullPage: true });
  });

  test("unknown instance and malformed names show not found", async ({ page }) => {
    for (const path of [
      "/instances/e2e/default/no-such-instance",
      "/instances/e2e/default/Bad_Name!",
      "/instances/nohost/default/demo-browser",
    ]) {
      await page.goto(path);
      await expect(page.getByRole("heading", { name: "Instance not found" })).toBeVisible();
    }
  });

  test("API returns 404 for a missing instance", async ({ page }) => {
    const response = await page.request.get("/api/instances/e2e/default/no-such-instance");
    expect(response.status()).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("not_found");
  });
});
