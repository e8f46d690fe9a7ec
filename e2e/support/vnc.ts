import { execFile } from "node:child_process";
import { chromium, expect, type Locator, type Page } from "@playwright/test";
import { lxc } from "./session";

/** The demo page's block: #1e88e5 at x 0-399, y 0-299 of the sandbox's 1440x900 screen. */
export const demoBlue = { r: 0x1e, g: 0x88, b: 0xe5 };

const DEMO_PAGE_URL = "http://127.0.0.1:8080/";

// Tight encoding may send the block as JPEG at low quality levels, which
// moves each channel by a few steps.
const CHANNEL_TOLERANCE = 12;

export interface ScreenPixel {
  r: number;
  g: number;
  b: number;
}

/** Width of the sandbox's screen in pixels. */
const SCREEN_WIDTH = 1440;

/**
 * Returns the size of the canvas inside `viewer` relative to the sandbox's
 * screen: 1 for noVNC's own canvas in the full view, less for a tile's
 * scaled copy. Returns null while there is no canvas with a frame size.
 */
export async function readScreenScale(viewer: Locator): Promise<number | null> {
  const width = await viewer.evaluate((element) => element.querySelector("canvas")?.width ?? 0);
  return width >= 160 ? width / SCREEN_WIDTH : null;
}

/**
 * Reads pixels from the canvas inside `viewer`, given in the sandbox's
 * screen coordinates and scaled to the canvas's size. noVNC's canvas has the
 * remote size and CSS scales it, while a tile's canvas is a scaled copy.
 * Returns null while there is no canvas with a frame size.
 */
export async function readScreenPixels(
  viewer: Locator,
  points: Array<[number, number]>,
): Promise<ScreenPixel[] | null> {
  return viewer.evaluate(
    (element, { coordinates, screenWidth }) => {
      const canvas = element.querySelector("canvas");
      if (!canvas || canvas.width < 160) return null;
      const context = canvas.getContext("2d");
      if (!context) return null;
      const scale = canvas.width / screenWidth;
      return coordinates.map(([x, y]) => {
        const [r = 0, g = 0, b = 0] = context.getImageData(
          Math.floor(x * scale),
          Math.floor(y * scale),
          1,
          1,
        ).data;
        return { r, g, b };
      });
    },
    { coordinates: points, screenWidth: SCREEN_WIDTH },
  );
}

export function isDemoBlue(pixel: ScreenPixel | undefined): boolean {
  if (!pixel) return false;
  return (
    Math.abs(pixel.r - demoBlue.r) <= CHANNEL_TOLERANCE &&
    Math.abs(pixel.g - demoBlue.g) <= CHANNEL_TOLERANCE &&
    Math.abs(pixel.b - demoBlue.b) <= CHANNEL_TOLERANCE
  );
}

/**
 * Waits until the viewer's canvas shows the demo block: blue inside it and
 * not blue just outside it.
 */
export async function expectDemoBlock(viewer: Locator, timeout = 30_000) {
  await expect
    .poll(
      async () => {
        const scale = await readScreenScale(viewer);
        if (scale === null) return `no canvas yet (${await describeConnection(viewer)})`;
        // Scaling down blends a few pixels at the block's edge, so on a
        // tile the points keep that many tile pixels away from it.
        const margin = scale < 1 ? Math.ceil(3 / scale) : 0;
        const inside: Array<[number, number]> = [
          [2 + margin, 2 + margin],
          [200, 150],
          [397 - margin, 297 - margin],
        ];
        const outside: Array<[number, number]> = [
          [420 + margin, 150],
          [200, 330 + margin],
        ];
        const pixels = await readScreenPixels(viewer, [...inside, ...outside]);
        if (!pixels) return `no canvas yet (${await describeConnection(viewer)})`;
        const insideBlue = pixels.slice(0, inside.length).map(isDemoBlue);
        const outsideBlue = pixels.slice(inside.length).map(isDemoBlue);
        return { insideBlue, outsideBlue };
      },
      { timeout, message: "the demo block on the viewer's canvas" },
    )
    .toEqual({ insideBlue: [true, true, true], outsideBlue: [false, false] });
}

/**
 * Returns the viewer's connection phase and status text, so that a failed
 * wait for the canvas shows whether the viewer was still connecting, waiting
 * to retry or had stopped.
 */
async function describeConnection(viewer: Locator): Promise<string> {
  return viewer.evaluate((element) => {
    const status = element.querySelector('[data-testid="vnc-connection"]');
    if (!status) return "connected, no status line";
    return `${status.getAttribute("data-phase") ?? "no phase"}: ${status.textContent?.trim() ?? ""}`;
  });
}

/**
 * Returns the page's visible full viewer. While React streams a page in
 * behind the loading screen, the page's HTML can hold a hidden copy of the
 * viewer next to the one on screen, and a plain locator would match both.
 */
export function visibleViewer(page: Page): Locator {
  return page.getByTestId("vnc-viewer").filter({ visible: true });
}

/** Waits until the viewer reports a completed VNC handshake. */
export async function expectConnected(viewer: Locator, timeout = 30_000) {
  await expect(viewer.getByTestId("vnc-connection")).toHaveAttribute(
    "data-phase",
    "connected",
    { timeout },
  );
}

/**
 * Records every connection phase the page's first viewer passes through in
 * window.vncPhases, so a test can see a reconnect that takes less than a
 * polling interval.
 */
export async function recordConnectionPhases(page: Page) {
  await page.evaluate(() => {
    const status = document.querySelector('[data-testid="vnc-connection"]');
    const phases: string[] = [status?.getAttribute("data-phase") ?? "missing"];
    (window as unknown as { vncPhases: string[] }).vncPhases = phases;
    new MutationObserver(() => {
      const current = document.querySelector('[data-testid="vnc-connection"]');
      phases.push(current?.getAttribute("data-phase") ?? "missing");
    }).observe(document.body, {
      subtree: true,
      attributes: true,
      attributeFilter: ["data-phase"],
    });
  });
}

export async function recordedPhases(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { vncPhases: string[] }).vncPhases);
}

/**
 * Reads the demo page's title inside the sandbox through Chromium's DevTools
 * endpoint, which listens on the container's loopback only.
 */
export async function readDemoPageTitle(instance: string): Promise<string | null> {
  const { stdout } = await lxc(
    "exec",
    instance,
    "--",
    "busybox",
    "wget",
    "-qO-",
    "http://127.0.0.1:9222/json/list",
  );
  const targets = JSON.parse(stdout) as Array<{ type: string; url: string; title: string }>;
  const page = targets.find((target) => target.type === "page" && target.url === DEMO_PAGE_URL);
  return page?.title ?? null;
}

/** Returns `length` random lower-case letters, which Xvnc sends without Shift. */
export function randomLetters(length: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let text = "";
  for (let index = 0; index < length; index += 1) {
    text += letters[Math.floor(Math.random() * letters.length)];
  }
  return text;
}

/**
 * Runs `lxc init` or `lxc launch` against the end-to-end daemon with stdin
 * closed: both read instance config as YAML from a stdin that is not a
 * terminal, and wait for its end.
 */
export function createInstance(
  command: "init" | "launch",
  name: string,
  image = "sandbox-browser",
): Promise<void> {
  const lxdDir = process.env.E2E_LXD_DIR;
  if (!lxdDir) throw new Error("E2E_LXD_DIR is unset; the global setup did not run");
  const args = [command, image, name, "--profile", "default", "--profile", "sandbox"];

  return new Promise((resolve, reject) => {
    const child = execFile("lxc", args, { env: { ...process.env, LXD_DIR: lxdDir } }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`lxc ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve();
    });
    child.stdin?.end();
  });
}

// Host loopback port of the temporary proxy to a sandbox's DevTools endpoint.
const DEVTOOLS_PROXY_PORT = 19_222;
const DEVTOOLS_PROXY_DEVICE = "e2e-devtools";

/**
 * Connects Playwright to the Chromium inside `instance` and runs `run` with
 * its demo page. A temporary LXD proxy device publishes the container's
 * DevTools endpoint on the host's loopback for the duration of the call.
 */
export async function withSandboxDemoPage<T>(
  instance: string,
  run: (page: Page) => Promise<T>,
): Promise<T> {
  await lxc(
    "config",
    "device",
    "add",
    instance,
    DEVTOOLS_PROXY_DEVICE,
    "proxy",
    `listen=tcp:127.0.0.1:${DEVTOOLS_PROXY_PORT}`,
    "connect=tcp:127.0.0.1:9222",
    "bind=host",
  );
  try {
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${DEVTOOLS_PROXY_PORT}`);
    try {
      const pages = browser.contexts().flatMap((context) => context.pages());
      const page = pages.find((candidate) => candidate.url() === DEMO_PAGE_URL);
      if (!page) throw new Error(`No page at ${DEMO_PAGE_URL} in ${instance}'s Chromium`);
      return await run(page);
    } finally {
      // For a browser reached over CDP this disconnects and leaves it running.
      await browser.close();
    }
  } finally {
    await lxc("config", "device", "remove", instance, DEVTOOLS_PROXY_DEVICE);
  }
}

/**
 * Clicks the viewer's canvas at (x, y) of the sandbox's screen, converting
 * to the page coordinates of the scaled canvas.
 */
export async function clickScreenAt(viewer: Locator, x: number, y: number) {
  const canvas = viewer.locator("canvas");
  const box = await canvas.boundingBox();
  const size = await canvas.evaluate((element: HTMLCanvasElement) => ({
    width: element.width,
    height: element.height,
  }));
  if (!box) throw new Error("The viewer's canvas is not visible");
  await canvas.page().mouse.click(
    box.x + (x * box.width) / size.width,
    box.y + (y * box.height) / size.height,
  );
}
