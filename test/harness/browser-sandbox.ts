// A browser sandbox in the test daemon, and a small RFB client to talk to
// its VNC server through the console, for integration tests.

import WebSocket from "ws";

import { runLxc } from "./lxd-daemon";
import { lxc, requireDaemon } from "./lxd-test-context";
import { runCommandOrThrow } from "./run-command";

export const DEMO_PAGE_URL = "http://127.0.0.1:8080/";
const SANDBOX_READY_TIMEOUT_MS = 90_000;
const READ_TIMEOUT_MS = 10_000;

/**
 * Builds (or takes from the cache) the browser image, imports it into the
 * test daemon, launches `name` from it and waits until Chromium shows the
 * demo page.
 */
export async function launchBrowserSandbox(name: string): Promise<void> {
  const daemon = requireDaemon();
  const env = { ...process.env, LXD_DIR: daemon.lxdDir };
  await runCommandOrThrow("scripts/build-image.sh", ["browser"], { env, timeoutMs: 600_000 });
  await runCommandOrThrow("scripts/sandbox-profile.sh", [], { env });
  await lxc(["launch", "sandbox-browser", name, "--profile", "default", "--profile", "sandbox"]);
  await waitFor("the demo page in Chromium", SANDBOX_READY_TIMEOUT_MS, () =>
    readDemoPageTitle(name),
  );
}

/**
 * Reads the demo page's title through Chromium's DevTools endpoint inside
 * the sandbox. The page puts typed keys into it as "keys:<text>".
 */
export async function readDemoPageTitle(name: string): Promise<string | null> {
  const result = await runLxc(requireDaemon().name, [
    "exec", name, "--", "busybox", "wget", "-qO-", "http://127.0.0.1:9222/json/list",
  ]);
  if (result.code !== 0) return null;
  const targets = JSON.parse(result.stdout) as Array<{ type: string; url: string; title: string }>;
  return targets.find((t) => t.type === "page" && t.url === DEMO_PAGE_URL)?.title ?? null;
}

/** Returns how many socat processes run in the sandbox. */
export async function countSocat(name: string): Promise<number> {
  const result = await runLxc(requireDaemon().name, ["exec", name, "--", "pgrep", "-c", "-x", "socat"]);
  return Number.parseInt(result.stdout.trim() || "0", 10);
}

/** Polls `read` until it returns a value, and throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  read: () => Promise<T | null | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== null && value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * The client side of an RFB connection over a WebSocket, reading the
 * server's bytes in exact sizes.
 */
export class RfbSocketClient {
  private pending: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      this.pending = Buffer.concat([this.pending, data]);
      this.wake?.();
    });
    socket.on("close", () => this.wake?.());
  }

  async read(length: number): Promise<Buffer> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (this.pending.length < length) {
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`The WebSocket closed while ${length} bytes were expected`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No ${length} bytes from the VNC server in time`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    const bytes = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    return bytes;
  }

  send(bytes: number[] | Buffer): void {
    this.socket.send(Buffer.from(bytes));
  }

  /**
   * Reads the banner and runs the RFB 3.8 handshake with security None and
   * a shared ClientInit. Returns the banner and the screen size.
   */
  async handshake(): Promise<{ banner: string; width: number; height: number }> {
    const banner = (await this.read(12)).toString("latin1");
    return { banner, ...(await this.completeHandshake()) };
  }

  /**
   * Runs the RFB 3.8 handshake after the banner was read, with security
   * None and a shared ClientInit, and returns the screen size.
   */
  async completeHandshake(): Promise<{ width: number; height: number }> {
    this.send(Buffer.from("RFB 003.008\n", "latin1"));
    const types = await this.read((await this.read(1))[0] ?? 0);
    if (!types.includes(1)) throw new Error(`The VNC server offers no security None: ${[...types].join(",")}`);
    this.send([1]);
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`The VNC server rejected the handshake (${result})`);
    this.send([1]);
    const init = await this.read(24);
    await this.read(init.readUInt32BE(20));
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
  }

  /** Sends a press and a release for each lower-case letter of `text`. */
  typeText(text: string): void {
    for (const letter of text) {
      const keysym = letter.charCodeAt(0);
      this.send([4, 1, 0, 0, 0, 0, 0, keysym]);
      this.send([4, 0, 0, 0, 0, 0, 0, keysym]);
    }
  }
}
