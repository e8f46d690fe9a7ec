import { describe, expect, it } from "vitest";

import { RfbInputFilter } from "./rfb-filter";
import {
  CONTINUOUS_UPDATES_ENCODING,
  RfbTileThrottle,
  withoutContinuousUpdates,
} from "./rfb-tile-throttle";
import { TILE_UPDATE_INTERVAL_MS } from "./types";

const handshake = Buffer.concat([
  Buffer.from("RFB 003.008\n", "latin1"),
  Buffer.from([1]),
  Buffer.from([1]),
]);
const setPixelFormat = Buffer.from([
  0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
]);
const fence = Buffer.from([248, 0, 0, 0, 0, 0, 0, 3, 2, 0xaa, 0xbb]);
const enableContinuous = Buffer.from([150, 1, 0, 0, 0, 0, 5, 160, 3, 132]);

function setEncodings(encodings: number[]): Buffer {
  const message = Buffer.alloc(4 + 4 * encodings.length);
  message.writeUInt8(2, 0);
  message.writeUInt16BE(encodings.length, 2);
  encodings.forEach((encoding, index) => {
    message.writeInt32BE(encoding, 4 + 4 * index);
  });
  return message;
}

function updateRequest(incremental: boolean, width = 1440): Buffer {
  const message = Buffer.alloc(10);
  message.writeUInt8(3, 0);
  message.writeUInt8(incremental ? 1 : 0, 1);
  message.writeUInt16BE(width, 6);
  message.writeUInt16BE(900, 8);
  return message;
}

const incremental = updateRequest(true);
const nonIncremental = updateRequest(false);

/** A filter past the handshake and a throttle, fed whole chunks at `now`. */
class Pipeline {
  readonly filter = new RfbInputFilter({ viewOnly: false });
  readonly throttle = new RfbTileThrottle();

  constructor() {
    this.filter.segments(handshake);
  }

  send(chunk: Buffer, now: number): string {
    return this.throttle.accept(this.filter.segments(chunk), now).toString("hex");
  }
}

function hex(...parts: Buffer[]): string {
  return Buffer.concat(parts).toString("hex");
}

describe("withoutContinuousUpdates", () => {
  it("removes the pseudo-encoding and fixes the count", () => {
    const input = setEncodings([0, 7, CONTINUOUS_UPDATES_ENCODING, -239]);

    const output = withoutContinuousUpdates(input);

    expect(output.toString("hex")).toBe(hex(setEncodings([0, 7, -239])));
    expect(output.readUInt16BE(2)).toBe(3);
  });

  it("returns a list without it unchanged", () => {
    const input = setEncodings([0, 7, -312]);

    expect(withoutContinuousUpdates(input)).toBe(input);
  });

  it("handles a list of only the pseudo-encoding", () => {
    const input = setEncodings([CONTINUOUS_UPDATES_ENCODING]);

    expect(withoutContinuousUpdates(input).toString("hex")).toBe("02000000");
  });
});

describe("RfbTileThrottle", () => {
  it("rewrites SetEncodings split anywhere", () => {
    const message = setEncodings([16, CONTINUOUS_UPDATES_ENCODING, -224]);
    const input = Buffer.concat([setPixelFormat, message, nonIncremental]);
    const expected = hex(setPixelFormat, setEncodings([16, -224]), nonIncremental);

    for (let first = 1; first < input.length; first += 1) {
      for (let second = first; second < input.length; second += 1) {
        const pipeline = new Pipeline();
        const output =
          pipeline.send(input.subarray(0, first), 0) +
          pipeline.send(input.subarray(first, second), 0) +
          pipeline.send(input.subarray(second), 0);
        expect(output, `cuts at ${first},${second}`).toBe(expected);
      }
    }
  });

  it("forwards the first incremental request at once", () => {
    const pipeline = new Pipeline();

    expect(pipeline.send(incremental, 1_000)).toBe(hex(incremental));
    expect(pipeline.throttle.releaseAt).toBeNull();
    expect(pipeline.throttle.forwardedRequests).toBe(1);
  });

  it("holds an early incremental request until due", () => {
    const pipeline = new Pipeline();
    pipeline.send(incremental, 1_000);

    expect(pipeline.send(incremental, 1_100)).toBe("");
    expect(pipeline.throttle.releaseAt).toBe(1_000 + TILE_UPDATE_INTERVAL_MS);
    expect(pipeline.throttle.release(1_499).length).toBe(0);
    expect(pipeline.throttle.release(1_500).toString("hex")).toBe(
      hex(incremental),
    );
    expect(pipeline.throttle.releaseAt).toBeNull();
    expect(pipeline.throttle.delayedRequests).toBe(1);
  });

  it("forwards a late incremental request at once", () => {
    const pipeline = new Pipeline();
    pipeline.send(incremental, 1_000);

    expect(pipeline.send(incremental, 1_500)).toBe(hex(incremental));
    expect(pipeline.throttle.delayedRequests).toBe(0);
  });

  it("holds later messages behind a held request in order", () => {
    const pipeline = new Pipeline();
    pipeline.send(incremental, 0);
    const encodings = setEncodings([0, CONTINUOUS_UPDATES_ENCODING]);
    const after = Buffer.concat([setPixelFormat, encodings, nonIncremental, fence]);

    expect(pipeline.send(Buffer.concat([incremental, after]), 10)).toBe("");
    expect(pipeline.throttle.heldBytes).toBe(
      incremental.length + after.length - 4,
    );
    expect(pipeline.throttle.release(500).toString("hex")).toBe(
      hex(incremental, setPixelFormat, setEncodings([0]), nonIncremental, fence),
    );
    expect(pipeline.throttle.heldBytes).toBe(0);
    expect(pipeline.throttle.forwardedRequests).toBe(3);
  });

  it("forwards non-incremental requests at once when nothing is held", () => {
    const pipeline = new Pipeline();
    pipeline.send(incremental, 0);

    expect(pipeline.send(nonIncremental, 10)).toBe(hex(nonIncremental));
    expect(pipeline.send(nonIncremental, 20)).toBe(hex(nonIncremental));
    expect(pipeline.throttle.releaseAt).toBeNull();
  });

  it("does not count non-incremental requests against the interval", () => {
    const pipeline = new Pipeline();
    pipeline.send(nonIncremental, 0);

    expect(pipeline.send(incremental, 10)).toBe(hex(incremental));
  });

  it("releases one held incremental request per interval", () => {
    const pipeline = new Pipeline();
    const second = updateRequest(true, 720);
    pipeline.send(incremental, 0);
    pipeline.send(Buffer.concat([incremental, fence, second, fence]), 10);

    expect(pipeline.throttle.release(500).toString("hex")).toBe(
      hex(incremental, fence),
    );
    expect(pipeline.throttle.releaseAt).toBe(1_000);
    expect(pipeline.throttle.release(999).length).toBe(0);
    expect(pipeline.throttle.release(1_000).toString("hex")).toBe(
      hex(second, fence),
    );
    expect(pipeline.throttle.releaseAt).toBeNull();
  });

  it("measures the interval from the actual release", () => {
    const pipeline = new Pipeline();
    pipeline.send(incremental, 0);
    pipeline.send(incremental, 100);
    // The caller's timer fired late, at 800 instead of 500.
    pipeline.throttle.release(800);

    expect(pipeline.send(incremental, 1_200)).toBe("");
    expect(pipeline.throttle.releaseAt).toBe(1_300);
  });

  it("drops EnableContinuousUpdates", () => {
    const pipeline = new Pipeline();

    expect(pipeline.send(Buffer.concat([enableContinuous, fence]), 0)).toBe(
      hex(fence),
    );
    expect(pipeline.throttle.droppedContinuousUpdates).toBe(1);
  });

  it("keeps the cap against a flood of requests", () => {
    // A client that asks for an incremental update every 10 ms for 5 s,
    // with the caller releasing held messages 3 ms late each time.
    const pipeline = new Pipeline();
    const forwardedAt: number[] = [];
    let releaseAt: number | null = null;
    for (let now = 0; now <= 5_000; now += 1) {
      if (releaseAt !== null && now >= releaseAt + 3) {
        if (pipeline.throttle.release(now).length > 0) forwardedAt.push(now);
      }
      if (now % 10 === 0 && pipeline.send(incremental, now) !== "") {
        forwardedAt.push(now);
      }
      releaseAt = pipeline.throttle.releaseAt;
    }

    const gaps = forwardedAt.slice(1).map((time, index) => time - forwardedAt[index]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(TILE_UPDATE_INTERVAL_MS);
    expect(forwardedAt.length).toBeGreaterThanOrEqual(9);
    expect(forwardedAt.length).toBeLessThanOrEqual(11);
  });
});
