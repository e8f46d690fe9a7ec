import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { instanceStatus, lxc } from "./support/session";
import {
  clickScreenAt,
  createInstance,
  expectConnected,
  expectDemoBlock,
  randomLetters,
  readDemoPageTitle,
  recordConnectionPhases,
  recordedPhases,
  visibleViewer,
  withSandboxDemoPage,
} from "./support/vnc";

const demo = "demo-browser";
const demoPath = `/instances/e2e/default/${demo}`;

// Chromium in the sandbox needs a few seconds after boot to paint the page.
const SANDBOX_READY_MS = 90_000;

async function waitForDemoPage(instance: string) {
  await expect
    .poll(async () => readDemoPageTitle(instance).catch(() => null), {
      timeout: SANDBOX_READY_MS,
      message: `the demo page in ${instance}'s Chromium`,
    })
    .not.toBeNull();
}

async function ensureDemoRunning() {
  if ((await instanceStatus(demo)) !== "RUNNING") await lxc("start", demo);
  await waitForDemoPage(demo);
}

async function openDemoViewer(page: Page) {
  await page.goto(demoPath);
  const viewer = visibleViewer(page);
  await expectConnected(viewer);
  return viewer;
}

// While React streams the page in, a copy of the panel can sit in a hidden
// container next to the one on screen. The user reads the visible one.
function noLiveView(page: Page) {
  return page.getByTestId("no-live-view").filter({ visible: true });
}

test.describe("live view", () => {
  test.beforeEach(async () => {
    await ensureDemoRunning();
  });

  test("shows the sandbox's screen", async ({ page }) => {
    const viewer = await openDemoViewer(page);

    await expectDemoBlock(viewer);
    await expect(viewer).toHaveAttribute("data-control", "view-only");
    await expect(viewer.getByTestId("vnc-controller")).toHaveText("Nobody has control");
    await page.screenshot({ path: "test-results/vnc-instance.png", fullPage: true });
  });

  test("downloads a screenshot", async ({ page }) => {
    const viewer = await openDemoViewer(page);
    await expectDemoBlock(viewer);

    const download = page.waitForEvent("download");
    await viewer.getByRole("button", { name: "Screenshot" }).click();
    const file = await download;

    expect(file.suggestedFilename()).toMatch(
      /^demo-browser-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.png$/,
    );
    const png = await readFile(await file.path());
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    // IHDR starts at byte 16 with the width and height, big-endian.
    expect(png.readUInt32BE(16)).toBe(1440);
    expect(png.readUInt32BE(20)).toBe(900);
  });

  test("toggles full screen", async ({ page }) => {
    const viewer = await openDemoViewer(page);

    await viewer.getByRole("button", { name: "Full screen" }).click();
    await expect(viewer.getByRole("button", { name: "Exit full screen" })).toBeVisible();
    expect(
      await page.evaluate(() => document.fullscreenElement?.getAttribute("data-testid")),
    ).toBe("vnc-viewer");
    await expectDemoBlock(viewer);
    await page.screenshot({ path: "test-results/vnc-fullscreen.png" });

    await viewer.getByRole("button", { name: "Exit full screen" }).click();
    await expect(viewer.getByRole("button", { name: "Full screen" })).toBeVisible();
    expect(await page.evaluate(() => document.fullscreenElement)).toBeNull();
  });

  test("serves two viewers at once", async ({ page, context }) => {
    const second = await context.newPage();
    const firstViewer = await openDemoViewer(page);
    const secondViewer = await openDemoViewer(second);

    await expectDemoBlock(firstViewer);
    await expectDemoBlock(secondViewer);
    await expect(firstViewer.getByTestId("vnc-viewer-count")).toHaveText("2 viewers");
    await expect(secondViewer.getByTestId("vnc-viewer-count")).toHaveText("2 viewers");

    await second.close();
    await expect(firstViewer.getByTestId("vnc-viewer-count")).toHaveText("1 viewer");
    await expectConnected(firstViewer);
  });

  test("reconnects after socat dies", async ({ page }) => {
    const viewer = await openDemoViewer(page);
    await expectDemoBlock(viewer);
    await recordConnectionPhases(page);

    await lxc("exec", demo, "--", "pkill", "-x", "socat");

    await expect.poll(() => recordedPhases(page)).toContain("reconnecting");
    await expectConnected(viewer);
    await expectDemoBlock(viewer);
    const phases = await recordedPhases(page);
    expect(phases.indexOf("connecting")).toBeGreaterThan(phases.indexOf("reconnecting"));
  });

  test("keeps control when socat dies", async ({ page, context }) => {
    const viewer = await openDemoViewer(page);
    await expectDemoBlock(viewer);
    const watcher = await openDemoViewer(await context.newPage());
    await viewer.getByRole("button", { name: "Take control" }).click();
    await expect(viewer).toHaveAttribute("data-control", "control");
    await recordConnectionPhases(page);

    await lxc("exec", demo, "--", "pkill", "-x", "socat");

    // The viewer reconnects within the grace period with the same view id,
    // so control comes back to it without another take.
    await expect.poll(() => recordedPhases(page)).toContain("reconnecting");
    await expectConnected(viewer);
    await expect(viewer).toHaveAttribute("data-control", "control");
    // No "(reconnecting)" mark is left once the view is back.
    await expect(viewer.getByTestId("vnc-controller")).toHaveText(
      /^You have control in this view since [\d:]+ UTC$/,
    );
    await expect(watcher.getByTestId("vnc-controller")).toHaveText(
      /^You have control in another view since [\d:]+ UTC$/,
    );
    await expect(viewer.getByTestId("vnc-control-notice")).toHaveCount(0);

    await viewer.getByRole("button", { name: "Release control" }).click();
    await expect(viewer).toHaveAttribute("data-control", "view-only");
  });

  test("sends keys only under control", async ({ page }) => {
    const viewer = await openDemoViewer(page);
    await expectDemoBlock(viewer);
    const before = (await readDemoPageTitle(demo)) ?? "";
    const prefix = before.startsWith("keys:") ? before : "keys:";

    // View-only: a click and keys stay in the browser.
    await viewer.getByTestId("vnc-screen").click();
    await page.keyboard.type("qx");

    await viewer.getByRole("button", { name: "Take control" }).click();
    await expect(viewer.getByTestId("vnc-controller")).toHaveText(/You have control in this view/);
    await expect(viewer).toHaveAttribute("data-control", "control");
    await expect(viewer.getByText("Sandbox clipboard")).toBeVisible();
    const typed = randomLetters(8);
    await page.keyboard.type(typed);

    await expect
      .poll(() => readDemoPageTitle(demo), { message: "the demo page's title" })
      .toBe(prefix + typed);
    await page.screenshot({ path: "test-results/vnc-control.png", fullPage: true });

    await viewer.getByRole("button", { name: "Release control" }).click();
    await expect(viewer.getByTestId("vnc-controller")).toHaveText("Nobody has control");
    await expect(viewer).toHaveAttribute("data-control", "view-only");
    await page.keyboard.type("zz");
    // Keys that slipped through would show within a second; none may.
    await page.waitForTimeout(1_000);
    expect(await readDemoPageTitle(demo)).toBe(prefix + typed);

    // Leaving the page closes the view, which the audit log records.
    await page.goto("/audit");
    const rows = page.getByTestId("audit-row").filter({ hasText: demo });
    for (const action of ["vnc.view.open", "vnc.control.take", "vnc.control.release"]) {
      await expect(rows.filter({ hasText: action }).first()).toBeVisible();
    }
    await expect
      .poll(async () => {
        await page.reload();
        return rows.filter({ hasText: "vnc.view.close" }).count();
      })
      .toBeGreaterThan(0);
    await page.screenshot({ path: "test-results/vnc-audit.png", fullPage: true });
  });

  test("pastes the clipboard into the sandbox", async ({ page }) => {
    const viewer = await openDemoViewer(page);
    await expectDemoBlock(viewer);
    await viewer.getByRole("button", { name: "Take control" }).click();
    await expect(viewer).toHaveAttribute("data-control", "control");

    const text = `clip ${randomLetters(10)}`;
    await viewer.getByLabel("Sandbox clipboard").fill(text);
    await viewer.getByRole("button", { name: "Send", exact: true }).click();
    await expect(viewer.getByText(`Sent ${text.length} characters`)).toBeVisible();

    // The demo page's text box spans x 440-1060 and y about 135-185.
    await clickScreenAt(viewer, 700, 160);
    await page.keyboard.press("Control+a");
    await page.keyboard.press("Control+v");

    await withSandboxDemoPage(demo, async (sandboxPage) => {
      await expect.poll(() => sandboxPage.inputValue("#probe")).toBe(text);
    });
    await viewer.getByRole("button", { name: "Release control" }).click();
    await expect(viewer).toHaveAttribute("data-control", "view-only");
  });

  test("confirms before taking over", async ({ page, context }) => {
    const firstViewer = await openDemoViewer(page);
    await firstViewer.getByRole("button", { name: "Take control" }).click();
    await expect(firstViewer).toHaveAttribute("data-control", "control");

    const second = await context.newPage();
    const secondViewer = await openDemoViewer(second);
    await expect(secondViewer.getByTestId("vnc-controller")).toHaveText(
      /You have control in another view/,
    );

    await secondViewer.getByRole("button", { name: "Take control" }).click();
    const dialog = second.getByTestId("vnc-take-over-dialog");
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText("You have had control in another view since");
    await second.screenshot({ path: "test-results/vnc-take-over.png" });
    await dialog.getByRole("button", { name: "Take control" }).click();

    await expect(secondViewer).toHaveAttribute("data-control", "control");
    await expect(firstViewer).toHaveAttribute("data-control", "view-only");
    await expect(firstViewer.getByTestId("vnc-control-notice")).toHaveText(
      /You, in another view, took control\. This view is view-only again\./,
    );

    await secondViewer.getByRole("button", { name: "Release control" }).click();
    await expect(secondViewer).toHaveAttribute("data-control", "view-only");
    await second.close();
  });
});

test.describe("sessions wall", () => {
  test.beforeEach(async () => {
    await ensureDemoRunning();
  });

  test("shows a live tile per running browser sandbox", async ({ page }) => {
    test.setTimeout(240_000);
    const extras = [`e2e-wall-${randomLetters(6)}`, `e2e-wall-${randomLetters(6)}`];
    try {
      for (const name of extras) {
        await createInstance("launch", name);
      }
      for (const name of extras) await waitForDemoPage(name);

      await page.goto("/sessions");
      await expect(page.getByRole("link", { name: "Sessions" })).toHaveAttribute("aria-current", "page");
      for (const name of [demo, ...extras]) {
        const tile = page.getByTestId(`session-tile-e2e-default-${name}`);
        await expect(tile).toBeVisible();
        await expect(tile).toContainText(/e2e · up \d+ (s|min)/);
        await expect(tile.getByTestId("session-controller")).toHaveText("View-only");
        await expectDemoBlock(tile, 60_000);
      }
      await page.screenshot({ path: "test-results/sessions-wall.png", fullPage: true });

      // In one narrow column only the first tiles are near the viewport, and
      // the last one disconnects until it is scrolled into view.
      await page.setViewportSize({ width: 360, height: 300 });
      const last = page.getByTestId(`session-tile-e2e-default-${[demo, ...extras].sort().at(-1)}`);
      await expect(last.getByTestId("vnc-connection")).toHaveAttribute("data-phase", "idle");
      await last.scrollIntoViewIfNeeded();
      await expectDemoBlock(last);
      await page.setViewportSize({ width: 1440, height: 900 });

      // The tile reconnected with the scroll, and a reload remounts every
      // tile with a new view id. Both join the tile watch that the first
      // connection opened, so the log still has one open of the tile.
      await page.reload();
      await expectDemoBlock(last);
      const lastName = [demo, ...extras].sort().at(-1) ?? "";
      const audit = await page.context().newPage();
      await audit.goto(`/audit?instance=${lastName}&action=vnc.view.`);
      const tileRows = audit.getByTestId("audit-row");
      await expect(tileRows).toHaveCount(2);
      await expect(tileRows.filter({ hasText: "vnc.view.open" })).toHaveCount(2);
      await audit.close();

      // A click opens the full view over the wall. The tiles underneath
      // keep their connections: the only new socket is the full view's.
      const sockets: string[] = [];
      page.on("websocket", (socket) => sockets.push(socket.url()));
      await page.getByRole("link", { name: `Open the live view of ${demo}` }).click();
      const dialog = page.getByTestId("session-view-dialog");
      await expect(page).toHaveURL(new RegExp(`/sessions\\?view=e2e/default/${demo}$`));
      await expect(dialog.getByRole("heading", { name: demo })).toBeVisible();
      await expectConnected(dialog.getByTestId("vnc-viewer"));
      await expectDemoBlock(dialog.getByTestId("vnc-viewer"));
      await page.screenshot({ path: "test-results/sessions-wall-view.png" });

      // Back closes it, and every tile still shows its screen.
      await page.goBack();
      await expect(dialog).toHaveCount(0);
      await expect(page).toHaveURL(/\/sessions$/);
      await expect(page.getByRole("link", { name: `Open the live view of ${demo}` })).toBeFocused();
      for (const name of [demo, ...extras]) {
        await expectDemoBlock(page.getByTestId(`session-tile-e2e-default-${name}`), 5_000);
      }
      expect(sockets).toHaveLength(1);
      expect(sockets[0]).toContain("mode=full");

      // Forward opens it again; closing it then goes back to the same wall
      // entry and focuses the tile, as after a click.
      await page.goForward();
      await expectConnected(dialog.getByTestId("vnc-viewer"));
      await dialog.getByRole("button", { name: "Back to the wall" }).click();
      await expect(dialog).toHaveCount(0);
      await expect(page).toHaveURL(/\/sessions$/);
      await expect(page.getByRole("link", { name: `Open the live view of ${demo}` })).toBeFocused();

      // The address opens the same view, and its button goes back to the wall.
      await page.goto(`/sessions?view=e2e/default/${demo}`);
      await expectConnected(dialog.getByTestId("vnc-viewer"));
      await dialog.getByRole("button", { name: "Back to the wall" }).click();
      await expect(dialog).toHaveCount(0);
      await expect(page).toHaveURL(/\/sessions$/);

      // A deleted sandbox's address explains why there is no view.
      await page.goto(`/sessions?view=e2e/default/${extras[0]}-gone`);
      await expect(dialog.getByTestId("no-live-view")).toContainText(
        `No live view: the console knows no instance ${extras[0]}-gone on host e2e`,
      );
      await page.keyboard.press("Escape");
      await expect(dialog).toHaveCount(0);

      // So does an address whose view is not host/project/name.
      await page.goto(`/sessions?view=e2e/default/`);
      await expect(dialog.getByTestId("no-live-view")).toContainText(
        "No live view: the address names no sandbox",
      );
      await page.keyboard.press("Escape");
      await expect(dialog).toHaveCount(0);

      // From the dialog, the instance page is one click away.
      await page.getByRole("link", { name: `Open the live view of ${demo}` }).click();
      await dialog.getByRole("link", { name: "Instance page" }).click();
      await expect(page).toHaveURL(new RegExp(`${demoPath}$`));
      await expectConnected(visibleViewer(page));
    } finally {
      await lxc("delete", "--force", ...extras).catch(() => undefined);
    }
  });
});

test.describe("no live view", () => {
  test("explains another sandbox kind", async ({ page }) => {
    const name = `e2e-python-${randomLetters(6)}`;
    await createInstance("init", name);
    try {
      await lxc("config", "set", name, "image.sandbox_kind", "python");
      await page.goto(`/instances/e2e/default/${name}`);
      const panel = noLiveView(page);
      await expect(panel).toContainText("No live view: this is a python sandbox");
      await expect(page.getByTestId("vnc-viewer")).toHaveCount(0);
      await page.screenshot({ path: "test-results/vnc-no-view-kind.png" });
    } finally {
      await lxc("delete", "--force", name);
    }
  });

  test("explains a stopped sandbox and empties the wall", async ({ page }) => {
    test.setTimeout(180_000);
    await ensureDemoRunning();
    await openDemoViewer(page);

    await lxc("stop", demo, "--force");
    const panel = noLiveView(page);
    await expect(panel).toContainText("No live view: the instance is stopped");
    await expect(panel).toContainText("Start it with the Start button above");
    await expect(page.getByTestId("vnc-viewer")).toHaveCount(0);
    await page.screenshot({ path: "test-results/vnc-no-view.png", fullPage: true });

    await page.goto("/sessions");
    await expect(page.getByTestId("sessions-empty")).toBeVisible();
    await page.screenshot({ path: "test-results/sessions-empty.png", fullPage: true });

    await lxc("start", demo);
    await expect(page.getByTestId(`session-tile-e2e-default-${demo}`)).toBeVisible({ timeout: 30_000 });
  });
});
