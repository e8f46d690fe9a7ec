// A minimal RFB 3.8 client for the benchmarks: security None, 32 bpp true
// colour, raw encoding only. It reads from a TCP socket or a WebSocket
// through one interface, and keeps received chunks in a list, so reading a
// 5 MB frame copies no more than the bytes the caller asks for.

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

// RFB message types used here.
const FRAMEBUFFER_UPDATE = 0;
const BELL = 2;
const SERVER_CUT_TEXT = 3;
const RAW_ENCODING = 0;

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
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(private readonly transport: RfbTransport) {
    transport.onData((chunk) => {
      this.chunks.push(chunk);
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
   * then selects 32 bpp true colour and raw encoding. Returns the screen
   * size from ServerInit.
   */
  async handshake(): Promise<ScreenSize> {
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

    // 32 bpp, depth 24, little-endian true colour, then raw encoding only.
    this.send(
      Buffer.from([
        0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
      ]),
    );
    this.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, RAW_ENCODING]));
    return {
      width: serverInit.readUInt16BE(0),
      height: serverInit.readUInt16BE(2),
    };
  }

  /** Sends a non-incremental FramebufferUpdateRequest for the area. */
  requestFullUpdate(width: number, height: number): void {
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0);
    request.writeUInt16BE(width, 6);
    request.writeUInt16BE(height, 8);
    this.send(request);
  }

  /**
   * Reads server messages up to and including the next FramebufferUpdate,
   * discarding its pixels, and returns the update's size in bytes.
   */
  async readUpdate(): Promise<number> {
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === FRAMEBUFFER_UPDATE) break;
      if (type === BELL) continue;
      if (type === SERVER_CUT_TEXT) {
        await this.skip((await this.read(7)).readUInt32BE(3));
        continue;
      }
      throw new Error(`Unexpected RFB server message type ${type}`);
    }

    const rectangleCount = (await this.read(3)).readUInt16BE(1);
    let bytes = 4;
    for (let index = 0; index < rectangleCount; index += 1) {
      const header = await this.read(12);
      const encoding = header.readInt32BE(8);
      if (encoding !== RAW_ENCODING) {
        throw new Error(
          `Unexpected rectangle encoding ${encoding}; only raw was requested`,
        );
      }
      const pixelBytes = header.readUInt16BE(4) * header.readUInt16BE(6) * 4;
      await this.skip(pixelBytes);
      bytes += 12 + pixelBytes;
    }
    return bytes;
  }

  private advance(length: number): void {
    this.consumed += length;
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
