import { mkdir } from "node:fs/promises";

import { expect, test, type Browser, type Page } from "@playwright/test";

// The accounts page as an admin uses it: create an account, pass on its
// one-time password, change the role, disable and enable it, and reset the
// password, while the user's own browser shows the effect of each change.

const screens = "test-results/screens";

async function screenshot(page: Page, name: string) {
  await mkdir(screens, { recursive: true });
  await page.screenshot({ path: `${screens}/${name}.png`, fullPage: true });
}

/** Opens a browser context without the admin's cookies. */
async function newUserPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  return context.newPage();
}

/**
 * Signs in through the login form and waits for `landing`. Sign-in is rate
 * limited per client address, so a rejected attempt waits and tries again.
 */
async function signInAs(page: Page, email: string, password: string, landing: RegExp) {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();

    const error = page.getByTestId("login-error");
    await expect(page.getByRole("button", { name: "Sign out" }).or(error)).toBeVisible();
    if (!(await error.isVisible())) break;
    const text = (await error.textContent()) ?? "";
    if (!text.includes("Too many sign-in attempts")) throw new Error(`Sign-in of ${email} failed: ${text}`);
    await page.waitForTimeout(11_000);
  }
  await expect(page).toHaveURL(landing);
}

/** Returns the login form's error after a sign-in attempt, waiting out the rate limit. */
async function signInError(page: Page, email: string, password: string): Promise<string> {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();

    const error = page.getByTestId("login-error");
    await expect(error).toBeVisible();
    const text = (await error.textContent()) ?? "";
    if (!text.includes("Too many sign-in attempts")) return text;
    await page.waitForTimeout(11_000);
  }
  throw new Error(`Sign-in of ${email} stayed rate limited`);
}

test.describe("accounts page", () => {
  test("manages an account through its life", async ({ page, browser }) => {
    test.setTimeout(240_000);
    const email = `e2e-user-${Date.now()}@console.localhost`;
    const ownPassword = "a password of my own 42";
    page.on("dialog", (dialog) => void dialog.accept());

    await page.goto("/instances");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
    await expect(page).toHaveURL(/\/admin\/users$/);
    await expect(page.getByRole("heading", { name: "Accounts" })).toBeVisible();

    // Create: the one-time password is shown once, with the no-email notice.
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Name").fill("E2E Person");
    await page.getByLabel("Role of the new account").selectOption("support");
    await page.getByRole("button", { name: "Create account" }).click();
    const panel = page.getByRole("region", { name: "One-time password" });
    await expect(panel).toContainText(email);
    await expect(panel).toContainText("no mail server");
    const oneTime = (await page.getByTestId("one-time-password").textContent())?.trim() ?? "";
    expect(oneTime).toHaveLength(24);
    const row = page.getByTestId(`account-${email}`);
    await expect(row).toContainText("must change password");
    await screenshot(page, "accounts-created");
    await panel.getByRole("button", { name: "I have passed it on" }).click();
    await expect(panel).toHaveCount(0);

    // First sign-in goes to the account page until the password is changed.
    const user = await newUserPage(browser);
    await signInAs(user, email, oneTime, /\/account$/);
    await expect(user.getByText("An admin set your password")).toBeVisible();
    await user.goto("/instances");
    await expect(user).toHaveURL(/\/account$/);
    await screenshot(user, "accounts-must-change");
    await user.getByLabel("Current password").fill(oneTime);
    await user.getByLabel("New password", { exact: true }).fill(ownPassword);
    await user.getByLabel("New password again").fill(ownPassword);
    await user.getByRole("button", { name: "Change password" }).click();
    await expect(user.getByTestId("password-message")).toContainText("Password changed");
    await user.goto("/instances");
    await expect(user).toHaveURL(/\/instances$/);

    // Grant session control, then change the role, which drops the grant.
    await page.reload();
    await row.getByRole("button", { name: "Grant control" }).click();
    await expect(page.getByRole("status")).toContainText("may now take control");
    await expect(row.getByRole("button", { name: "Revoke control" })).toBeVisible();
    await row.getByLabel(`Role of ${email}`).selectOption("auditor");
    await expect(page.getByRole("status")).toContainText(`${email} is now auditor`);
    await expect(row).toContainText("never");
    await user.reload();
    await expect(user.getByText("auditor", { exact: true })).toBeVisible();

    // Disable: the open session ends at once and sign-in is rejected.
    await row.getByRole("button", { name: "Disable" }).click();
    await expect(page.getByRole("status")).toContainText("disabled and signed out everywhere");
    await expect(row).toContainText("disabled");
    await screenshot(page, "accounts-disabled");
    await user.reload();
    await expect(user).toHaveURL(/\/login/);
    expect(await signInError(user, email, ownPassword)).toContain("This account is disabled");
    await screenshot(user, "accounts-disabled-sign-in");

    // Enable: the user signs in with their own password again.
    await row.getByRole("button", { name: "Enable" }).click();
    await expect(page.getByRole("status")).toContainText("is active again");
    await signInAs(user, email, ownPassword, /\/instances$/);

    // Reset: a new one-time password, the session ends, and the user must
    // change it again.
    await row.getByRole("button", { name: "Reset password" }).click();
    await expect(panel).toContainText("Password reset");
    const reset = (await page.getByTestId("one-time-password").textContent())?.trim() ?? "";
    expect(reset).not.toBe(oneTime);
    await screenshot(page, "accounts-reset");
    await user.reload();
    await expect(user).toHaveURL(/\/login/);
    await signInAs(user, email, reset, /\/account$/);

    // Sign out everywhere ends that session too.
    await page.reload();
    await row.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page.getByRole("status")).toContainText("signed out of every browser");
    await user.goto("/account");
    await expect(user).toHaveURL(/\/login/);
    await user.context().close();
  });

  test("keeps admins from locking themselves out", async ({ page }) => {
    await page.goto("/admin/users");
    const own = page.getByTestId("account-e2e-admin@console.localhost");

    await expect(own).toContainText("(you)");
    await expect(own.getByRole("button", { name: "Disable" })).toBeDisabled();
    await expect(own.getByLabel("Role of e2e-admin@console.localhost")).toBeDisabled();
    await expect(own.getByRole("button", { name: "Reset password" })).toHaveCount(0);
    await screenshot(page, "accounts-list");
  });
});
