// A minimal RFB 3.8 client for the benchmarks: security None, 32 bpp true
// colour, and either raw encoding alone or the encodings noVNC offers. It
// requests updates one at a time or turns on continuous updates. It
// decodes no pixels: it parses rectangle headers and skips each payload, so
// it finds where a FramebufferUpdate ends. It reads from a TCP socket or a
// WebSocket through one interface, and keeps received chunks in a list, so
// reading a 5 MB frame copies no more than the bytes the caller asks for.

import type net from "node:net";

import WebSocket from "ws";

export interface RfbTransport {
  send(bytes: Buffer): void;
  close(): void;
  onData(listener: (chunk: Buffer) => void): void;
  onClose(listener: () => void): void;
}

export function tcpTransport(socket: net.Socket): RfbTransport {
  socket.setNoDelay(true);
  return {
    send: (bytes) => socket.write(bytes),
    close: () => socket.destroy(),
    onData: (listener) => socket.on("data", listener),
    onClose: (listener) => socket.on("close", listener),
  };
}

export function webSocketTransport(socket: WebSocket): RfbTransport {
  socket.binaryType = "nodebuffer";
  return {
    send: (bytes) => socket.send(bytes, { binary: true }),
    close: () => socket.terminate(),
    onData: (listener) =>
      socket.on("message", (data: Buffer) => listener(data)),
    onClose: (listener) => socket.on("close", listener),
  };
}

// RFB server message types (RFC 6143 and the community extensions in
// https://github.com/rfbproto/rfbproto).
const FRAMEBUFFER_UPDATE = 0;
const SET_COLOUR_MAP_ENTRIES = 1;
const BELL = 2;
const SERVER_CUT_TEXT = 3;
const END_OF_CONTINUOUS_UPDATES = 150;
const SERVER_FENCE = 248;
const XVP = 250;

const ENABLE_CONTINUOUS_UPDATES = 150;
const CLIENT_FENCE = 248;
const FENCE_REQUEST = 0x8000_0000;
const FENCE_BLOCK_BEFORE_AND_AFTER = 0b11;

// Encodings and pseudo-encodings. Their numbers are those of the RFB
// community specification, the same as in noVNC's core/encodings.js.
const RAW = 0;
const COPY_RECT = 1;
const RRE = 2;
const HEXTILE = 5;
const ZLIB = 6;
const TIGHT = 7;
const ZRLE = 16;
const JPEG = 21;
const H264 = 50;
const TIGHT_PNG = -260;
const QUALITY_LEVEL_0 = -32;
const COMPRESS_LEVEL_0 = -256;
const DESKTOP_SIZE = -223;
const LAST_RECT = -224;
const CURSOR = -239;
const QEMU_EXTENDED_KEY_EVENT = -258;
const QEMU_LED_STATE = -261;
const DESKTOP_NAME = -307;
const EXTENDED_DESKTOP_SIZE = -308;
const XVP_PSEUDO = -309;
const FENCE = -312;
const CONTINUOUS_UPDATES = -313;
const EXTENDED_MOUSE_BUTTONS = -316;
const VMWARE_CURSOR = 0x574d5664;
const EXTENDED_CLIPBOARD = 0xc0a1e5ce | 0;

/** Raw encoding alone: 4 bytes per pixel, 5,184,000 bytes for 1440x900. */
export const RAW_ONLY_ENCODINGS: readonly number[] = [RAW];

/**
 * The SetEncodings list that noVNC 1.7.0 sends by default (RFB
 * `_sendEncodings` in core/rfb.js) for a 24-bit screen, in its order of
 * preference: quality level 6 and compression level 2, which the console's
 * full view keeps. noVNC adds H.264 only where the browser decodes it through
 * WebCodecs, as Chromium does, so it is in the list. Xvnc ignores the
 * encodings it does not know.
 */
export const NOVNC_ENCODINGS: readonly number[] = [
  COPY_RECT,
  H264,
  TIGHT,
  TIGHT_PNG,
  ZRLE,
  JPEG,
  HEXTILE,
  RRE,
  ZLIB,
  RAW,
  QUALITY_LEVEL_0 + 6,
  COMPRESS_LEVEL_0 + 2,
  DESKTOP_SIZE,
  LAST_RECT,
  QEMU_EXTENDED_KEY_EVENT,
  QEMU_LED_STATE,
  EXTENDED_DESKTOP_SIZE,
  XVP_PSEUDO,
  FENCE,
  CONTINUOUS_UPDATES,
  DESKTOP_NAME,
  EXTENDED_CLIPBOARD,
  EXTENDED_MOUSE_BUTTONS,
  VMWARE_CURSOR,
  CURSOR,
];

const PIXEL_ENCODINGS = new Set([
  RAW,
  COPY_RECT,
  RRE,
  HEXTILE,
  ZLIB,
  TIGHT,
  ZRLE,
  JPEG,
  H264,
  TIGHT_PNG,
]);

// The client asks for 32 bits per pixel, so raw, RRE and cursor pixels take
// 4 bytes. Tight sends 3 bytes per pixel (TPIXEL) for this format, because
// its depth is 24 and each colour has 8 bits.
const BYTES_PER_PIXEL = 4;
const TIGHT_BYTES_PER_PIXEL = 3;
// Tight sends data shorter than this without zlib and without a length.
const TIGHT_MIN_TO_COMPRESS = 12;

/** Size of one FramebufferUpdate and the rectangles in it. */
export interface UpdateStats {
  /** Bytes of the message, from its type byte to the end of the last rectangle. */
  bytes: number;
  /** Rectangles per encoding number, pseudo-encodings included. */
  rectangles: Record<number, number>;
  /**
   * Pixels covered by rectangles that carry screen content, that is all
   * but pseudo-encodings. It is 0 for an update of pseudo-encodings alone.
   */
  pixelArea: number;
}

/**
 * A server message that the caller handles. Other messages are handled or
 * skipped while reading.
 */
export type ServerMessage =
  | { kind: "update"; update: UpdateStats }
  | { kind: "end-of-continuous-updates" };

/**
 * The compression of a Tight rectangle: one fill colour, JPEG, PNG (in
 * TightPNG only), or basic compression (zlib with an optional filter).
 */
export type TightCompression = "fill" | "jpeg" | "png" | "basic";

const READ_TIMEOUT_MS = 30_000;

export interface ScreenSize {
  width: number;
  height: number;
}

export class RfbClient {
  private readonly chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private consumed = 0;
  private available = 0;
  /** Bytes consumed since the connection opened. */
  private consumedTotal = 0;
  private closed = false;
  private wake: (() => void) | null = null;

  /**
   * Chunks received so far: TCP reads on a socket, messages on a
   * WebSocket.
   */
  chunksReceived = 0;
  /** Replies this client has sent to the server's fence requests. */
  fenceRepliesSent = 0;
  /** Tight and TightPNG rectangles this client has read, by compression. */
  readonly tightRectangles: Record<TightCompression, number> = {
    fill: 0,
    jpeg: 0,
    png: 0,
    basic: 0,
  };

  constructor(private readonly transport: RfbTransport) {
    transport.onData((chunk) => {
      this.chunks.push(chunk);
      this.chunksReceived += 1;
      this.available += chunk.length;
      this.wake?.();
    });
    transport.onClose(() => {
      this.closed = true;
      this.wake?.();
    });
  }

  close(): void {
    this.transport.close();
  }

  send(bytes: Buffer): void {
    this.transport.send(bytes);
  }

  /** Returns the next `length` bytes the server sent. */
  async read(length: number): Promise<Buffer> {
    await this.waitForBytes(length);
    const parts: Buffer[] = [];
    let needed = length;
    while (needed > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(needed, chunk.length - this.consumed);
      parts.push(chunk.subarray(this.consumed, this.consumed + take));
      this.advance(take);
      needed -= take;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Discards the next `length` bytes without copying them. */
  async skip(length: number): Promise<void> {
    await this.waitForBytes(length);
    let needed = length;
    while (needed > 0) {
      const take = Math.min(needed, this.chunks[0]!.length - this.consumed);
      this.advance(take);
      needed -= take;
    }
  }

  /**
   * Runs the RFB 3.8 handshake with security None and a shared ClientInit,
   * then selects 32 bpp true colour and `encodings`. Returns the screen size
   * from ServerInit.
   */
  async handshake(
    encodings: readonly number[] = RAW_ONLY_ENCODINGS,
  ): Promise<ScreenSize> {
    const banner = (await this.read(12)).toString("latin1");
    if (!banner.startsWith("RFB 003.")) {
      throw new Error(`Invalid RFB banner ${JSON.stringify(banner)}`);
    }
    this.send(Buffer.from("RFB 003.008\n", "latin1"));

    const typeCount = (await this.read(1))[0]!;
    const types = await this.read(typeCount);
    if (!types.includes(1)) {
      throw new Error(
        `The VNC server does not offer security type None (offered: ${[...types].join(",")})`,
      );
    }
    this.send(Buffer.from([1]));
    const securityResult = (await this.read(4)).readUInt32BE(0);
    if (securityResult !== 0) {
      throw new Error(
        `The VNC server rejected security type None (result ${securityResult})`,
      );
    }

    this.send(Buffer.from([1]));
    const serverInit = await this.read(24);
    await this.skip(serverInit.readUInt32BE(20));

    // SetPixelFormat: 32 bpp, depth 24, little-endian true colour.
    this.send(
      Buffer.from([
        0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
      ]),
    );
    const setEncodings = Buffer.alloc(4 + encodings.length * 4);
    setEncodings.writeUInt8(2, 0);
    setEncodings.writeUInt16BE(encodings.length, 2);
    encodings.forEach((encoding, index) =>
      setEncodings.writeInt32BE(encoding, 4 + index * 4),
    );
    this.send(setEncodings);
    return {
      width: serverInit.readUInt16BE(0),
      height: serverInit.readUInt16BE(2),
    };
  }

  /** Sends a non-incremental FramebufferUpdateRequest for the area. */
  requestFullUpdate(width: number, height: number): void {
    this.requestUpdate(false, width, height);
  }

  /** Sends an incremental FramebufferUpdateRequest for the area. */
  requestIncrementalUpdate(width: number, height: number): void {
    this.requestUpdate(true, width, height);
  }

  private requestUpdate(
    incremental: boolean,
    width: number,
    height: number,
  ): void {
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0);
    request.writeUInt8(incremental ? 1 : 0, 1);
    request.writeUInt16BE(width, 6);
    request.writeUInt16BE(height, 8);
    this.send(request);
  }

  /** Turns continuous updates for the area at (0, 0) on or off. */
  enableContinuousUpdates(
    enable: boolean,
    width: number,
    height: number,
  ): void {
    const message = Buffer.alloc(10);
    message.writeUInt8(ENABLE_CONTINUOUS_UPDATES, 0);
    message.writeUInt8(enable ? 1 : 0, 1);
    message.writeUInt16BE(width, 6);
    message.writeUInt16BE(height, 8);
    this.send(message);
  }

  /**
   * Reads server messages up to and including the next FramebufferUpdate,
   * discarding its pixels, and returns the update's size. It skips
   * EndOfContinuousUpdates and replies to fence requests on the way.
   */
  async readUpdate(): Promise<UpdateStats> {
    for (;;) {
      const message = await this.readMessage();
      if (message.kind === "update") return message.update;
    }
  }

  /**
   * Reads server messages up to the next FramebufferUpdate or
   * EndOfContinuousUpdates, discarding an update's pixels. It replies to
   * fence requests on the way, as noVNC does, because Xvnc uses them to
   * measure the round-trip time, and skips bells, clipboard text, colour
   * map entries and xvp messages.
   */
  async readMessage(): Promise<ServerMessage> {
    for (;;) {
      const type = (await this.read(1))[0];
      switch (type) {
        case FRAMEBUFFER_UPDATE:
          return { kind: "update", update: await this.readUpdateBody() };
        case END_OF_CONTINUOUS_UPDATES:
          return { kind: "end-of-continuous-updates" };
        case SET_COLOUR_MAP_ENTRIES:
          await this.skip((await this.read(5)).readUInt16BE(3) * 6);
          break;
        case BELL:
          break;
        case SERVER_CUT_TEXT:
          // The extended clipboard marks its messages with a negative length.
          await this.skip(Math.abs((await this.read(7)).readInt32BE(3)));
          break;
        case SERVER_FENCE:
          await this.answerFence();
          break;
        case XVP:
          await this.skip(3);
          break;
        default:
          throw new Error(`Unexpected RFB server message type ${type}`);
      }
    }
  }

  /** Reads a FramebufferUpdate whose type byte has been read. */
  private async readUpdateBody(): Promise<UpdateStats> {
    const started = this.consumedTotal - 1;

    const rectangleCount = (await this.read(3)).readUInt16BE(1);
    const rectangles: Record<number, number> = {};
    let pixelArea = 0;
    // A count of 0xFFFF means the update ends with a LastRect rectangle.
    for (let index = 0; index < rectangleCount; index += 1) {
      const header = await this.read(12);
      const width = header.readUInt16BE(4);
      const height = header.readUInt16BE(6);
      const encoding = header.readInt32BE(8);
      rectangles[encoding] = (rectangles[encoding] ?? 0) + 1;
      if (encoding === LAST_RECT) break;
      if (PIXEL_ENCODINGS.has(encoding)) pixelArea += width * height;
      await this.skipRectangle(encoding, width, height);
    }
    return { bytes: this.consumedTotal - started, rectangles, pixelArea };
  }

  private async answerFence(): Promise<void> {
    const header = await this.read(8);
    const flags = header.readUInt32BE(3);
    const payload = await this.read(header.readUInt8(7));
    if ((flags & FENCE_REQUEST) === 0) return;
    this.fenceRepliesSent += 1;
    const response = Buffer.alloc(9 + payload.length);
    response.writeUInt8(CLIENT_FENCE, 0);
    response.writeUInt32BE(flags & FENCE_BLOCK_BEFORE_AND_AFTER, 4);
    response.writeUInt8(payload.length, 8);
    payload.copy(response, 9);
    this.send(response);
  }

  /** Skips the payload of one rectangle whose header has been read. */
  private async skipRectangle(
    encoding: number,
    width: number,
    height: number,
  ): Promise<void> {
    switch (encoding) {
      case RAW:
        return this.skip(width * height * BYTES_PER_PIXEL);
      case COPY_RECT:
        return this.skip(4);
      case RRE: {
        const subrectangles = (await this.read(4)).readUInt32BE(0);
        return this.skip(
          BYTES_PER_PIXEL + subrectangles * (BYTES_PER_PIXEL + 8),
        );
      }
      case ZLIB:
      case ZRLE:
        return this.skip((await this.read(4)).readUInt32BE(0));
      case H264:
        // A 4-byte length, then 4 bytes of flags before the data.
        return this.skip((await this.read(8)).readUInt32BE(0));
      case TIGHT:
      case TIGHT_PNG:
        return this.skipTight(width, height);
      case CURSOR:
        return this.skip(
          width * height * BYTES_PER_PIXEL + Math.ceil(width / 8) * height,
        );
      case VMWARE_CURSOR: {
        // A type byte and a padding byte. Type 0 sends an AND mask and an
        // XOR mask of 4-byte pixels, type 1 one RGBA image.
        const cursorType = (await this.read(2))[0];
        const pixels = width * height * BYTES_PER_PIXEL;
        return this.skip(cursorType === 0 ? 2 * pixels : pixels);
      }
      case EXTENDED_DESKTOP_SIZE: {
        const screens = (await this.read(4))[0]!;
        return this.skip(screens * 16);
      }
      case DESKTOP_NAME:
        return this.skip((await this.read(4)).readUInt32BE(0));
      case QEMU_LED_STATE:
        return this.skip(1);
      case DESKTOP_SIZE:
      case QEMU_EXTENDED_KEY_EVENT:
      case EXTENDED_MOUSE_BUTTONS:
        return;
      default:
        // Hextile and noVNC's JPEG encoding (21) would need parsing tile by
        // tile or marker by marker. Xvnc prefers Tight, which noVNC lists
        // before them, so they are not parsed.
        throw new Error(
          `Rectangle encoding ${encoding} cannot be skipped by this client ` +
            `(it handles raw, CopyRect, RRE, Zlib, Tight, ZRLE and H.264)`,
        );
    }
  }

  /**
   * Skips a Tight rectangle: a compression-control byte, then a fill colour,
   * JPEG or PNG data with a compact length, or basic compression with an
   * optional filter. Only pixel data of 12 bytes or more is zlib-compressed
   * and carries a length.
   */
  private async skipTight(width: number, height: number): Promise<void> {
    const control = (await this.read(1))[0]! >> 4;
    if (control === 0x8) {
      this.tightRectangles.fill += 1;
      return this.skip(TIGHT_BYTES_PER_PIXEL);
    }
    if (control === 0x9 || control === 0xa) {
      this.tightRectangles[control === 0x9 ? "jpeg" : "png"] += 1;
      return this.skip(await this.readCompactLength());
    }
    if (control > 0x7) {
      throw new Error(`Invalid Tight compression control ${control << 4}`);
    }
    this.tightRectangles.basic += 1;

    let dataSize = width * height * TIGHT_BYTES_PER_PIXEL;
    const explicitFilter = (control & 0x4) !== 0;
    if (explicitFilter && (await this.read(1))[0] === 1) {
      // The palette filter: a colour count, the colours, then one bit per
      // pixel (rows padded to a byte) for two colours, else one byte.
      const colours = (await this.read(1))[0]! + 1;
      await this.skip(colours * TIGHT_BYTES_PER_PIXEL);
      dataSize = colours === 2 ? Math.ceil(width / 8) * height : width * height;
    }
    if (dataSize < TIGHT_MIN_TO_COMPRESS) return this.skip(dataSize);
    return this.skip(await this.readCompactLength());
  }

  /** Reads Tight's compact length: 1 to 3 bytes, 7 bits each, then 8. */
  private async readCompactLength(): Promise<number> {
    let length = 0;
    for (let index = 0; index < 3; index += 1) {
      const byte = (await this.read(1))[0]!;
      if (index === 2) return length | (byte << 14);
      length |= (byte & 0x7f) << (7 * index);
      if ((byte & 0x80) === 0) return length;
    }
    return length;
  }

  private advance(length: number): void {
    this.consumed += length;
    this.consumedTotal += length;
    this.available -= length;
    if (this.consumed === this.chunks[0]!.length) {
      this.chunks.shift();
      this.consumed = 0;
    }
  }

  private async waitForBytes(length: number): Promise<void> {
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (this.available < length) {
      if (this.closed) {
        throw new Error(
          `The VNC connection closed while ${length} bytes were expected`,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `Timed out after ${READ_TIMEOUT_MS} ms waiting for ${length} bytes from the VNC server`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
