import { test as setup } from "@playwright/test";
import { adminStorageState } from "../playwright.config";
import { signIn } from "./support/session";

setup("sign in as the admin", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: adminStorageState });
});
