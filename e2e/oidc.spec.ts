import { mkdir } from "node:fs/promises";

import { expect, test, type Page } from "@playwright/test";

import { e2eOidcUsers } from "./support/accounts";

// Single sign-on through the OpenID Connect provider that the global setup
// runs on 127.0.0.1: the console's button, the provider's own login form,
// and the way back.

const screens = "test-results/screens";

async function screenshot(page: Page, name: string) {
  await mkdir(screens, { recursive: true });
  await page.screenshot({ path: `${screens}/${name}.png`, fullPage: true });
}

/** Clicks the console's single sign-on button and fills in the provider's form. */
async function signInAtProvider(page: Page, login: string) {
  await page.goto("/login");
  await page.getByRole("button", { name: "Sign in with Test ID" }).click();

  // oidc-provider's own login page, on another origin.
  const loginField = page.locator('input[name="login"]');
  await expect(loginField).toBeVisible();
  await loginField.fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

test.describe("single sign-on", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("signs in an admin from the groups claim", async ({ page }) => {
    const admin = e2eOidcUsers[0]!;

    await page.goto("/login");
    await expect(page.getByRole("button", { name: "Sign in with Test ID" })).toBeVisible();
    await screenshot(page, "oidc-login-button");

    await signInAtProvider(page, admin.login);

    await expect(page).toHaveURL(/\/instances$/);
    await expect(page.getByRole("link", { name: admin.email })).toBeVisible();
    await expect(page.getByText("admin", { exact: true })).toBeVisible();
    await screenshot(page, "oidc-signed-in");
  });

  test("rejects a user whose groups map to no role", async ({ page }) => {
    const nobody = e2eOidcUsers[1]!;

    await signInAtProvider(page, nobody.login);

    await expect(page).toHaveURL(/\/login\?.*error=no_console_role/);
    await expect(page.getByTestId("login-error")).toContainText("none of the groups");
    await screenshot(page, "oidc-rejected");
  });
});
