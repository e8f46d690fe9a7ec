import { readFile } from "node:fs/promises";

import { expect, test } from "@playwright/test";

import { pruneAuditLog } from "@/lib/audit/prune";
import { closeDb, createDb } from "@/lib/db/client";
import { testDatabaseUrl } from "@/lib/db/test-database";

import { e2eAccounts } from "./support/accounts";

// The auditor's sign-in itself writes "auth." rows, so the filters and the
// export always have rows to find.
const auditorState = "test-results/.auth/auditor.json";

test.describe("audit log as the auditor", () => {
  // Sign-in is rate limited, so the auditor signs in once for all tests.
  test.beforeAll(async ({ browser }) => {
    const { baseURL } = test.info().project.use;
    const context = await browser.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
    const page = await context.newPage();
    const { email, password } = e2eAccounts.auditor;

    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/instances$/);
    await context.storageState({ path: auditorState });
    await context.close();
  });

  test.use({ storageState: auditorState });

  test("filters by action prefix, charts and verifies", async ({ page }) => {
    await page.goto("/audit");
    await page.getByLabel("Action prefix").fill("auth.");
    await page.getByRole("button", { name: "Apply filters" }).click();

    await expect(page).toHaveURL(/[?&]action=auth\./);
    const rows = page.getByTestId("audit-row");
    await expect(rows.first()).toBeVisible();
    const actions = await rows.locator("td:nth-child(3)").allInnerTexts();
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/^auth\./);
    await expect(page.getByTestId("audit-activity")).toContainText("matching");

    // The console writes the witness file within seconds of the log's first
    // rows, and again after each verification that finds the log intact.
    const witnessFile = process.env.SANDBOX_CONSOLE_AUDIT_WITNESS ?? "";
    await expect
      .poll(() => readFile(witnessFile, "utf8").then((text) => text.length, () => 0), { timeout: 30_000 })
      .toBeGreaterThan(0);
    const result = page.getByTestId("verify-chain-result");
    for (let round = 0; round < 2; round++) {
      await page.getByRole("button", { name: "Verify chain" }).click();
      await expect(page.getByRole("button", { name: "Verify chain" })).toBeEnabled();
      await expect(result).toContainText("Chain intact");
    }
    await expect(result.getByTestId("witness-result")).toContainText("Witness file matches");
    await page.screenshot({ path: test.info().outputPath("audit-filtered.png"), fullPage: true });

    await rows.first().getByRole("link").first().click();
    await expect(page.getByRole("heading", { name: /Audit entry \d+/ })).toBeVisible();
  });

  test("rejects an invalid filter with a message", async ({ page }) => {
    await page.goto("/audit?from=yesterday");
    const alert = page.getByRole("alert").filter({ hasText: "Invalid value" });
    await expect(alert).toContainText('Invalid value "yesterday" for "from"');
  });

  test("exports the filtered rows as CSV and JSON Lines", async ({ page }) => {
    await page.goto("/audit?action=auth.");

    const downloadPromise = page.waitForEvent("download");
    await page.getByRole("link", { name: "CSV" }).click();
    const download = await downloadPromise;
    expect(download.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
    const csv = await readFile(await download.path(), "utf8");
    const [header, ...records] = csv.split("\r\n").filter((line) => line !== "");
    expect(header).toBe(
      "id,at,correlation_id,phase,actor_id,actor,source_address,action,host,project,instance,params,result,error,operation_id,duration_ms,prev_hash,hash",
    );
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(record.split(",")[7]).toMatch(/^auth\./);

    const response = await page.request.get("/api/audit/export?format=jsonl&action=auth.");
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toContain("application/jsonl");
    const lines = (await response.text()).trim().split("\n");
    const parsed = lines.map((line) => JSON.parse(line) as { action: string; hash: string });
    expect(parsed.length).toBeGreaterThanOrEqual(records.length);
    for (const row of parsed) {
      expect(row.action).toMatch(/^auth\./);
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test("sees prune records and no prune form", async ({ page }) => {
    // A prune with a cut point before every row removes nothing, so the
    // other specs keep their rows, but it still writes a prune record.
    const db = createDb(testDatabaseUrl());
    try {
      await pruneAuditLog(db, { before: new Date("2000-01-01T00:00:00Z"), actor: { system: "e2e" } });
    } finally {
      await closeDb(db);
    }

    await page.goto("/audit?action=audit.retention.");
    const record = page.getByTestId("audit-row").filter({ hasText: "Removed no rows" }).first();
    await expect(record).toContainText("none were older than 2000-01-01 00:00:00 UTC");
    await expect(page.getByRole("heading", { name: "Retention" })).toHaveCount(0);
  });

  test("export needs a session", async ({ playwright, baseURL }) => {
    // A new request context would otherwise take the auditor's cookies from
    // test.use above.
    const request = await playwright.request.newContext({
      baseURL,
      storageState: { cookies: [], origins: [] },
    });
    try {
      const response = await request.get("/api/audit/export?format=csv");
      expect(response.status()).toBe(401);
    } finally {
      await request.dispose();
    }
  });
});

test.describe("retention pruning as the admin", () => {
  test("counts the rows before a prune", async ({ page }) => {
    await page.goto("/audit");
    const panel = page.getByRole("region", { name: "Retention" });
    await expect(panel).toBeVisible();

    await panel.getByLabel("Remove rows older than").fill("2000-01-01");
    await panel.getByRole("button", { name: "Count rows" }).click();

    await expect(panel).toContainText("No rows are older than 2000-01-01. Nothing would be removed.");
    await expect(panel.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath("audit-retention.png"), fullPage: true });
  });

  test("rejects a cut point in the future", async ({ page }) => {
    await page.goto("/audit");
    const panel = page.getByRole("region", { name: "Retention" });

    await panel.getByLabel("Remove rows older than").fill("2999-01-01");
    await panel.getByRole("button", { name: "Count rows" }).click();

    await expect(panel.getByRole("alert")).toContainText("it is in the future");
  });
});
