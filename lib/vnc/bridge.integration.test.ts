import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";

import { LxdClient } from "@/lib/lxd";
import {
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";
import {
  countSocat,
  launchBrowserSandbox,
  readDemoPageTitle,
  RfbSocketClient,
  waitFor,
} from "@/test/harness/browser-sandbox";

import { openVncBridge, type VncBridge } from "./bridge";
import { CONTINUOUS_UPDATES_ENCODING } from "./rfb-tile-throttle";
import type { VncViewMode } from "./types";

// The browser image's Xvnc geometry and the demo page's top-left block.
const SCREEN_WIDTH = 1440;
const SCREEN_HEIGHT = 900;
const DEMO_BLUE = 0x1e88e5;

const READ_TIMEOUT_MS = 10_000;

// RFB server message types.
const FRAMEBUFFER_UPDATE = 0;
const BELL = 2;
const SERVER_CUT_TEXT = 3;
const END_OF_CONTINUOUS_UPDATES = 150;
const SERVER_FENCE = 248;

// Xvnc confirms continuous updates only to a client that supports fences.
const FENCE_ENCODING = -312;
const FENCE_FLAG_REQUEST = 0x8000_0000;
// BlockBefore, BlockAfter and SyncNext, which a client may echo.
const FENCE_FLAGS_SUPPORTED = 0b111;

// The frame-rate tests count updates over this window. Tile mode forwards
// one incremental request per 500 ms, so at most 7 fit into 3 s.
const RATE_WINDOW_MS = 3_000;
const TILE_MAX_REQUESTS_IN_WINDOW = RATE_WINDOW_MS / 500 + 1;
// Pointer moves that change the screen while the frame rate is measured.
const POINTER_MOVE_INTERVAL_MS = 20;

describe.skipIf(lxdDaemon === null)(integrationTitle("VNC bridge"), () => {
  const name = uniqueInstanceName("vnc");
  const ref = { project: "default", name };
  const openSockets: WebSocket[] = [];
  let client: LxdClient;
  let server: WebSocketServer;

  beforeAll(async () => {
    const daemon = requireDaemon();
    await launchBrowserSandbox(name);
    client = new LxdClient({ kind: "unix", socketPath: daemon.socketPath });
    server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
  });

  afterEach(() => {
    for (const socket of openSockets.splice(0)) socket.terminate();
  });

  afterAll(async () => {
    await deleteInstances([name]);
    server?.close();
    await client?.close();
  });

  /** Returns a connected pair of WebSockets: the viewer's and the console's. */
  async function connectPair(): Promise<[WebSocket, WebSocket]> {
    const { port } = server.address() as AddressInfo;
    const accepted = new Promise<WebSocket>((resolve) =>
      server.once("connection", resolve),
    );
    const viewer = new WebSocket(`ws://127.0.0.1:${port}`);
    viewer.binaryType = "nodebuffer";
    await new Promise((resolve, reject) => {
      viewer.once("open", resolve);
      viewer.once("error", reject);
    });
    const consoleSide = await accepted;
    openSockets.push(viewer, consoleSide);
    return [viewer, consoleSide];
  }

  async function openViewer(
    viewOnly: boolean,
    mode: VncViewMode = "full",
    lxd: LxdClient = client,
  ): Promise<{ rfb: RfbTestClient; bridge: VncBridge }> {
    const [viewer, consoleSide] = await connectPair();
    const rfb = new RfbTestClient(viewer);
    const bridge = await openVncBridge(lxd, ref, consoleSide, {
      viewOnly,
      mode,
      hostId: "test-host",
    });
    return { rfb, bridge };
  }

  /**
   * Moves the pointer back and forth over the page's empty lower half
   * through a connection with input, so Xvnc keeps drawing the cursor
   * somewhere new. Returns a function that stops it and closes the bridge.
   */
  async function startPointerMotion(): Promise<() => Promise<void>> {
    const driver = await openViewer(false);
    await driver.rfb.read(12);
    await driver.rfb.completeHandshake();

    let step = 0;
    const timer = setInterval(() => {
      step += 1;
      const x = 500 + ((step * 7) % 800);
      driver.rfb.movePointer(x, 600 + (step % 2) * 40);
    }, POINTER_MOVE_INTERVAL_MS);
    return async () => {
      clearInterval(timer);
      driver.bridge.close();
      await driver.bridge.ended;
    };
  }

  /**
   * Opens a view-only viewer in `mode` that lists the ContinuousUpdates
   * pseudo-encoding and, like noVNC without continuous updates, requests
   * the next incremental update as soon as one arrives. Returns what arrived during RATE_WINDOW_MS, which
   * starts at the first update.
   */
  async function measureUpdateRate(mode: VncViewMode): Promise<{
    updates: number;
    requestsToServer: number;
    endOfContinuousUpdates: number;
    delayedRequests: number;
  }> {
    const { rfb, bridge } = await openViewer(true, mode);
    await rfb.read(12);
    await rfb.completeHandshake();
    rfb.setTrueColour32([0, CONTINUOUS_UPDATES_ENCODING, FENCE_ENCODING]);
    rfb.requestUpdate(false);

    let windowEnd = 0;
    let requestsAtStart = 0;
    let updates = 0;
    let endOfContinuousUpdates = 0;
    for (;;) {
      const message = await rfb.readServerMessage();
      if (message.type === END_OF_CONTINUOUS_UPDATES) {
        endOfContinuousUpdates += 1;
      }
      if (message.type !== FRAMEBUFFER_UPDATE) continue;

      const now = performance.now();
      if (windowEnd === 0) {
        windowEnd = now + RATE_WINDOW_MS;
        requestsAtStart = bridge.updateRequestsToServer;
      } else if (now > windowEnd) {
        break;
      } else {
        updates += 1;
      }
      rfb.requestUpdate(true);
    }
    const requestsToServer = bridge.updateRequestsToServer - requestsAtStart;

    bridge.close();
    const summary = await bridge.ended;
    return {
      updates,
      requestsToServer,
      endOfContinuousUpdates,
      delayedRequests: summary.delayedUpdateRequests,
    };
  }

  it("relays the RFB handshake", async () => {
    const { rfb, bridge } = await openViewer(false);

    const banner = await rfb.read(12);
    expect(banner.toString("latin1")).toBe("RFB 003.008\n");

    const serverInit = await rfb.completeHandshake();
    expect(serverInit.width).toBe(SCREEN_WIDTH);
    expect(serverInit.height).toBe(SCREEN_HEIGHT);

    bridge.close();
    const summary = await bridge.ended;
    expect(summary.reason).toBe("closed_by_console");
    expect(summary.bytesToServer).toBe(14);
    expect(summary.bytesToClient).toBeGreaterThanOrEqual(12 + 24);
  });

  it("shows the demo page's blue block", async () => {
    const { rfb, bridge } = await openViewer(false);
    await rfb.read(12);
    await rfb.completeHandshake();
    rfb.setTrueColour32();

    // Chromium may not have painted yet, so full updates repeat until the
    // block shows or the time runs out.
    let frame = await rfb.readFullFrame();
    const deadline = Date.now() + 30_000;
    while (frame.pixel(200, 150) !== DEMO_BLUE && Date.now() < deadline) {
      frame = await rfb.readFullFrame();
    }

    expect(hex(frame.pixel(0, 0))).toBe(hex(DEMO_BLUE));
    expect(hex(frame.pixel(200, 150))).toBe(hex(DEMO_BLUE));
    expect(hex(frame.pixel(399, 299))).toBe(hex(DEMO_BLUE));
    expect(hex(frame.pixel(400, 150))).not.toBe(hex(DEMO_BLUE));
    expect(hex(frame.pixel(200, 300))).not.toBe(hex(DEMO_BLUE));
    bridge.close();
    await bridge.ended;
  });

  it("relays through a host reached over HTTPS", async () => {
    // A remote host is reached over HTTPS with a client certificate, and
    // the exec's websockets then run over TLS instead of the unix socket.
    const remote = new LxdClient(requireDaemon().httpsEndpoint);
    try {
      const { rfb, bridge } = await openViewer(true, "full", remote);
      const banner = await rfb.read(12);
      expect(banner.toString("latin1")).toBe("RFB 003.008\n");
      const serverInit = await rfb.completeHandshake();
      expect(serverInit.width).toBe(SCREEN_WIDTH);

      rfb.setTrueColour32();
      const frame = await rfb.readFullFrame();
      expect(hex(frame.pixel(200, 150))).toBe(hex(DEMO_BLUE));

      rfb.socket.close();
      expect((await bridge.ended).reason).toBe("client_closed");
      const stopped = await poll(5_000, async () => (await countSocat(name)) === 0);
      expect(stopped, "socat still runs 5 s after the viewer closed").toBe(true);
    } finally {
      await remote.close();
    }
  });

  it("ends socat when the viewer closes", async () => {
    const { rfb, bridge } = await openViewer(false);
    await rfb.read(12);
    await rfb.completeHandshake();
    expect(await countSocat(name)).toBeGreaterThan(0);

    rfb.socket.close();
    const summary = await bridge.ended;

    expect(summary.reason).toBe("client_closed");
    expect(summary.exitCode).toBe(0);
    const stopped = await poll(5_000, async () => (await countSocat(name)) === 0);
    expect(stopped, "socat still runs 5 s after the viewer closed").toBe(true);
  });

  it("closes the viewer when socat ends", async () => {
    const { rfb, bridge } = await openViewer(false);
    await rfb.read(12);
    const closed = new Promise<number>((resolve) =>
      rfb.socket.once("close", resolve),
    );

    await lxc(["exec", name, "--", "pkill", "-x", "socat"]);

    expect(await closed).toBe(1000);
    expect((await bridge.ended).reason).toBe("server_closed");
  });

  it("drops keys when view-only", async () => {
    expect(await readDemoPageTitle(name)).not.toMatch(/^keys:/);

    const watcher = await openViewer(true);
    await watcher.rfb.read(12);
    await watcher.rfb.completeHandshake();
    watcher.rfb.typeText("ab");
    // Xvnc handles one connection's messages in order, so once the update
    // arrives, any key sent before it has reached the X server.
    watcher.rfb.setTrueColour32();
    await watcher.rfb.readFullFrame();
    watcher.bridge.close();
    const watcherSummary = await watcher.bridge.ended;

    const controller = await openViewer(false);
    await controller.rfb.read(12);
    await controller.rfb.completeHandshake();
    controller.rfb.typeText("cd");

    // Keys sent earlier through X would come before these in the title.
    const title = await waitFor(
      "keys in the page title",
      READ_TIMEOUT_MS,
      async () => {
        const current = await readDemoPageTitle(name);
        return current?.startsWith("keys:") && current.length >= 7
          ? current
          : null;
      },
    );
    expect(title).toBe("keys:cd");
    expect(watcherSummary.droppedMessages).toBe(4);
    controller.bridge.close();
    await controller.bridge.ended;
  });

  it("switches input on and off mid-stream", async () => {
    const before = await readDemoPageTitle(name);
    const prefix = before?.startsWith("keys:") ? before : "keys:";
    const { rfb, bridge } = await openViewer(true);
    await rfb.read(12);
    await rfb.completeHandshake();
    rfb.setTrueColour32();

    rfb.typeText("ef");
    // The full update comes after Xvnc handled the keys sent before it.
    await rfb.readFullFrame();
    bridge.setViewOnly(false);
    rfb.typeText("gh");
    const withKeys = await waitFor("keys in the page title", READ_TIMEOUT_MS, async () => {
      const title = await readDemoPageTitle(name);
      return title?.endsWith("h") ? title : null;
    });
    expect(withKeys).toBe(`${prefix}gh`);
    expect(bridge.viewOnly).toBe(false);

    bridge.setViewOnly(true);
    rfb.typeText("ij");
    // A key press cut in two WebSocket messages, with input allowed again
    // between them: the press started while view-only, so all of it drops.
    const pressX = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x78]);
    const receivedBefore = bridge.bytesFromClient;
    rfb.send(pressX.subarray(0, 3));
    await waitFor("the first half of the key press", READ_TIMEOUT_MS, async () =>
      bridge.bytesFromClient >= receivedBefore + 3 ? true : null,
    );
    expect(bridge.viewOnly).toBe(true);
    bridge.setViewOnly(false);
    rfb.send(pressX.subarray(3));
    rfb.typeText("k");

    const final = await waitFor("the last key in the title", READ_TIMEOUT_MS, async () => {
      const title = await readDemoPageTitle(name);
      return title?.endsWith("k") ? title : null;
    });
    expect(final).toBe(`${prefix}ghk`);
    bridge.close();
    const summary = await bridge.ended;
    expect(summary.droppedMessages).toBe(9);
  });

  it("caps tile mode at two frames per second", async () => {
    const stopMotion = await startPointerMotion();
    try {
      const tile = await measureUpdateRate("tile");
      const full = await measureUpdateRate("full");

      expect(tile.updates).toBeLessThanOrEqual(TILE_MAX_REQUESTS_IN_WINDOW);
      expect(tile.updates).toBeGreaterThanOrEqual(3);
      expect(tile.requestsToServer).toBeLessThanOrEqual(
        TILE_MAX_REQUESTS_IN_WINDOW,
      );
      expect(tile.delayedRequests).toBeGreaterThan(0);
      expect(tile.endOfContinuousUpdates).toBe(0);

      expect(full.updates).toBeGreaterThan(2 * TILE_MAX_REQUESTS_IN_WINDOW);
      expect(full.requestsToServer).toBeGreaterThan(
        2 * TILE_MAX_REQUESTS_IN_WINDOW,
      );
      expect(full.delayedRequests).toBe(0);
      // Xvnc confirms the pseudo-encoding in full mode, so tile mode's
      // rewrite is what keeps continuous updates away.
      expect(full.endOfContinuousUpdates).toBe(1);
    } finally {
      await stopMotion();
    }
  });
});

/** Buffers what the VNC server sends and reads it in exact sizes. */
class RfbTestClient extends RfbSocketClient {

  /**
   * Asks for 32 bpp little-endian true colour, red at bit 16, and the
   * `encodings` (raw only by default).
   */
  setTrueColour32(encodings: number[] = [0]): void {
    this.send([
      0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
    ]);
    const setEncodings = Buffer.alloc(4 + 4 * encodings.length);
    setEncodings.writeUInt8(2, 0);
    setEncodings.writeUInt16BE(encodings.length, 2);
    encodings.forEach((encoding, index) => {
      setEncodings.writeInt32BE(encoding, 4 + 4 * index);
    });
    this.send(setEncodings);
  }

  /** Sends a FramebufferUpdateRequest for the whole screen. */
  requestUpdate(incremental: boolean): void {
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0);
    request.writeUInt8(incremental ? 1 : 0, 1);
    request.writeUInt16BE(SCREEN_WIDTH, 6);
    request.writeUInt16BE(SCREEN_HEIGHT, 8);
    this.send(request);
  }

  /** Sends a PointerEvent with no button pressed. */
  movePointer(x: number, y: number): void {
    const event = Buffer.alloc(6);
    event.writeUInt8(5, 0);
    event.writeUInt16BE(x, 2);
    event.writeUInt16BE(y, 4);
    this.send(event);
  }

  /**
   * Reads one server message of the types this client's encodings allow,
   * and copies a FramebufferUpdate's pixels into `pixels` when given.
   */
  async readServerMessage(pixels?: Buffer): Promise<{ type: number }> {
    const type = (await this.read(1))[0]!;
    switch (type) {
      case FRAMEBUFFER_UPDATE:
        await this.readUpdateRectangles(pixels);
        break;
      case BELL:
      case END_OF_CONTINUOUS_UPDATES:
        break;
      case SERVER_CUT_TEXT: {
        const header = await this.read(7);
        await this.read(header.readUInt32BE(3));
        break;
      }
      case SERVER_FENCE:
        await this.answerFence();
        break;
      default:
        throw new Error(`Unexpected RFB server message type ${type}`);
    }
    return { type };
  }

  /** Reads a ServerFence and, when it is a request, echoes it as noVNC does. */
  private async answerFence(): Promise<void> {
    const header = await this.read(8);
    const flags = header.readUInt32BE(3);
    const payload = await this.read(header.readUInt8(7));
    if ((flags & FENCE_FLAG_REQUEST) === 0) return;

    const response = Buffer.alloc(9 + payload.length);
    response.writeUInt8(248, 0);
    response.writeUInt32BE(flags & FENCE_FLAGS_SUPPORTED, 4);
    response.writeUInt8(payload.length, 8);
    payload.copy(response, 9);
    this.send(response);
  }

  /** Requests a full, non-incremental update and assembles it. */
  async readFullFrame(): Promise<Frame> {
    this.requestUpdate(false);

    const pixels = Buffer.alloc(SCREEN_WIDTH * SCREEN_HEIGHT * 4);
    while ((await this.readServerMessage(pixels)).type !== FRAMEBUFFER_UPDATE) {
      // Other messages may come before the update.
    }
    return new Frame(pixels);
  }

  private async readUpdateRectangles(pixels?: Buffer): Promise<void> {
    const rectangleCount = (await this.read(3)).readUInt16BE(1);
    for (let index = 0; index < rectangleCount; index += 1) {
      const header = await this.read(12);
      const x = header.readUInt16BE(0);
      const y = header.readUInt16BE(2);
      const width = header.readUInt16BE(4);
      const height = header.readUInt16BE(6);
      expect(header.readInt32BE(8), "rectangle encoding").toBe(0);
      const data = await this.read(width * height * 4);
      if (pixels === undefined) continue;
      for (let row = 0; row < height; row += 1) {
        data.copy(
          pixels,
          ((y + row) * SCREEN_WIDTH + x) * 4,
          row * width * 4,
          (row + 1) * width * 4,
        );
      }
    }
  }
}

class Frame {
  constructor(private readonly pixels: Buffer) {}

  /** Returns the pixel at (x, y) as 0xRRGGBB. */
  pixel(x: number, y: number): number {
    return this.pixels.readUInt32LE((y * SCREEN_WIDTH + x) * 4) & 0xffffff;
  }
}

function hex(colour: number): string {
  return `#${colour.toString(16).padStart(6, "0")}`;
}



/** Polls `check` until it returns true, and returns whether it did in time. */
async function poll(
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

