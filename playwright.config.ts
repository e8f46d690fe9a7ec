import { defineConfig } from "@playwright/test";

export const e2ePort = 3100;

/** Cookies of the signed-in admin, saved once: sign-in is rate limited. */
export const adminStorageState = "test-results/.auth/admin.json";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  // The tests share one console, one LXD daemon and one demo sandbox.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  globalSetup: "./e2e/global-setup.ts",
  projects: [
    { name: "sign-in", testMatch: /sign-in\.setup\.ts/ },
    {
      name: "console",
      dependencies: ["sign-in"],
      use: { storageState: adminStorageState },
    },
  ],
  use: {
    baseURL: `http://127.0.0.1:${e2ePort}`,
    browserName: "chromium",
    viewport: { width: 1440, height: 900 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium; Playwright never downloads a browser here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
