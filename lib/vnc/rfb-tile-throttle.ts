import { RfbClientMessage, type RfbSegment } from "./rfb-filter";
import { TILE_UPDATE_INTERVAL_MS } from "./types";

/**
 * The ContinuousUpdates pseudo-encoding. A client that lists it may turn on
 * continuous updates, after which the server sends frames without waiting
 * for requests, so tile mode removes it.
 */
export const CONTINUOUS_UPDATES_ENCODING = -313;

const SET_ENCODINGS_HEADER_LENGTH = 4;

interface HeldMessage {
  bytes: Buffer;
  kind: "incremental-request" | "full-request" | "other";
}

/**
 * Limits a VNC client to one incremental FramebufferUpdateRequest per
 * interval, so the server sends at most about two frames per second. It
 * works on the client-to-server stream after the RfbInputFilter:
 *
 * - SetEncodings loses the ContinuousUpdates pseudo-encoding, so the server
 *   keeps waiting for requests (noVNC stops requesting once continuous
 *   updates are on).
 * - An incremental request that comes too soon is held with every message
 *   after it, in order, until `releaseAt`. Each `release` then forwards one
 *   held request and the messages that followed it.
 * - A non-incremental request is forwarded at once unless messages are
 *   held. Then it waits behind them, because overtaking a held
 *   SetPixelFormat or SetEncodings would change what the server sends.
 * - EnableContinuousUpdates is dropped: without the pseudo-encoding the
 *   server would close the connection for it.
 *
 * It keeps no timers; the caller passes the time (in ms) and calls
 * `release` once `releaseAt` has passed.
 */
export class RfbTileThrottle {
  private readonly held: HeldMessage[] = [];
  private heldByteCount = 0;
  /** Bytes of a SetEncodings or update request still being received. */
  private partial: Buffer[] = [];
  private lastIncrementalAt: number | null = null;

  /** Incremental update requests that were held before forwarding. */
  delayedRequests = 0;
  /** FramebufferUpdateRequests forwarded, incremental or not. */
  forwardedRequests = 0;
  /** EnableContinuousUpdates messages dropped. */
  droppedContinuousUpdates = 0;

  constructor(private readonly intervalMs: number = TILE_UPDATE_INTERVAL_MS) {}

  /** Bytes held until the next release. */
  get heldBytes(): number {
    return this.heldByteCount;
  }

  /** When `release` may forward held messages, or null when none are held. */
  get releaseAt(): number | null {
    if (this.held.length === 0) return null;
    return (this.lastIncrementalAt ?? 0) + this.intervalMs;
  }

  /** Returns the bytes of `segments` that may go to the server at `now`. */
  accept(segments: RfbSegment[], now: number): Buffer {
    const output: Buffer[] = [];
    for (const segment of segments) {
      switch (segment.messageType) {
        case RfbClientMessage.SetEncodings:
        case RfbClientMessage.FramebufferUpdateRequest:
        case RfbClientMessage.EnableContinuousUpdates: {
          this.partial.push(segment.bytes);
          if (!segment.last) break;
          const message = Buffer.concat(this.partial);
          this.partial = [];
          this.acceptMessage(message, now, output);
          break;
        }
        default:
          this.pass({ bytes: segment.bytes, kind: "other" }, now, output);
      }
    }
    return Buffer.concat(output);
  }

  /**
   * Returns the held messages that may go to the server at `now`: the first
   * held incremental request and what followed it, up to the next one.
   */
  release(now: number): Buffer {
    const releaseAt = this.releaseAt;
    if (releaseAt === null || now < releaseAt) return Buffer.alloc(0);

    const output: Buffer[] = [];
    let first = true;
    while (this.held.length > 0) {
      const message = this.held[0]!;
      if (message.kind === "incremental-request" && !first) break;
      this.held.shift();
      this.heldByteCount -= message.bytes.length;
      this.forward(message, now, output);
      first = false;
    }
    return Buffer.concat(output);
  }

  private acceptMessage(message: Buffer, now: number, output: Buffer[]): void {
    const type = message[0];
    if (type === RfbClientMessage.EnableContinuousUpdates) {
      this.droppedContinuousUpdates += 1;
      return;
    }
    if (type === RfbClientMessage.SetEncodings) {
      const bytes = withoutContinuousUpdates(message);
      this.pass({ bytes, kind: "other" }, now, output);
      return;
    }

    // The byte after the type is the incremental flag.
    if (message[1] === 0) {
      this.pass({ bytes: message, kind: "full-request" }, now, output);
      return;
    }

    const due =
      this.lastIncrementalAt === null ||
      now - this.lastIncrementalAt >= this.intervalMs;
    const request: HeldMessage = { bytes: message, kind: "incremental-request" };
    if (this.held.length === 0 && due) {
      this.forward(request, now, output);
      return;
    }
    this.delayedRequests += 1;
    this.held.push(request);
    this.heldByteCount += message.length;
  }

  /** Forwards a message, or queues it behind the held ones. */
  private pass(message: HeldMessage, now: number, output: Buffer[]): void {
    if (this.held.length === 0) {
      this.forward(message, now, output);
    } else {
      this.held.push(message);
      this.heldByteCount += message.bytes.length;
    }
  }

  private forward(message: HeldMessage, now: number, output: Buffer[]): void {
    if (message.kind === "incremental-request") this.lastIncrementalAt = now;
    if (message.kind !== "other") this.forwardedRequests += 1;
    output.push(message.bytes);
  }
}

/**
 * Returns a SetEncodings message without the ContinuousUpdates
 * pseudo-encoding, or the message itself when it does not list it.
 */
export function withoutContinuousUpdates(message: Buffer): Buffer {
  const count = message.readUInt16BE(2);
  const kept: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const encoding = message.readInt32BE(SET_ENCODINGS_HEADER_LENGTH + 4 * index);
    if (encoding !== CONTINUOUS_UPDATES_ENCODING) kept.push(encoding);
  }
  if (kept.length === count) return message;

  const rewritten = Buffer.alloc(SET_ENCODINGS_HEADER_LENGTH + 4 * kept.length);
  rewritten.writeUInt8(RfbClientMessage.SetEncodings, 0);
  rewritten.writeUInt16BE(kept.length, 2);
  kept.forEach((encoding, index) => {
    rewritten.writeInt32BE(encoding, SET_ENCODINGS_HEADER_LENGTH + 4 * index);
  });
  return rewritten;
}
