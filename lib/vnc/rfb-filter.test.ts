import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { RfbInputFilter } from "./rfb-filter";

const version38 = Buffer.from("RFB 003.008\n", "latin1");
const securityNone = Buffer.from([1]);
const clientInitShared = Buffer.from([1]);
const handshake = Buffer.concat([version38, securityNone, clientInitShared]);

const setPixelFormat = Buffer.from([
  0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
]);
const setEncodings = Buffer.from([
  2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0x21,
]);
const updateRequest = Buffer.from([3, 0, 0, 0, 0, 0, 5, 160, 3, 132]);
const keyDownA = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const pointerClick = Buffer.from([5, 1, 0, 10, 0, 20]);
// ExtendedMouseButtons: bit 7 of the mask marks a second mask byte.
const extendedPointer = Buffer.from([5, 0x81, 0, 10, 0, 20, 1]);
const cutText = Buffer.concat([
  Buffer.from([6, 0, 0, 0, 0, 0, 0, 5]),
  Buffer.from("hello", "latin1"),
]);
const extendedCutText = Buffer.concat([
  Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc]),
  Buffer.from([0, 0, 0, 1]),
]);
const continuousUpdates = Buffer.from([150, 1, 0, 0, 0, 0, 5, 160, 3, 132]);
const fence = Buffer.from([248, 0, 0, 0, 0, 0, 0, 3, 2, 0xaa, 0xbb]);
const setDesktopSize = Buffer.concat([
  Buffer.from([251, 0, 5, 160, 3, 132, 1, 0]),
  Buffer.alloc(16, 7),
]);
const qemuKeyEvent = Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30]);
const xvpReboot = Buffer.from([250, 0, 1, 3]);

/** Runs `input` through a new filter in chunks cut at `cuts`. */
function filterInChunks(
  input: Buffer,
  cuts: number[],
): { output: Buffer; dropped: number } {
  const filter = new RfbInputFilter();
  const outputs: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    outputs.push(filter.filter(input.subarray(start, cut)));
    start = cut;
  }
  return { output: Buffer.concat(outputs), dropped: filter.droppedMessages };
}

/**
 * Checks the filter against every split of `input` into one, two and three
 * chunks, so each message boundary and each byte inside a header is a
 * chunk edge at least once.
 */
function expectAtEverySplit(
  input: Buffer,
  expected: Buffer,
  expectedDropped: number,
): void {
  const splits: number[][] = [[]];
  for (let first = 1; first < input.length; first += 1) {
    splits.push([first]);
    for (let second = first + 1; second < input.length; second += 1) {
      splits.push([first, second]);
    }
  }

  for (const cuts of splits) {
    const { output, dropped } = filterInChunks(input, cuts);
    expect(output.toString("hex"), `cuts at ${cuts.join(",")}`).toBe(
      expected.toString("hex"),
    );
    expect(dropped, `dropped, cuts at ${cuts.join(",")}`).toBe(expectedDropped);
  }
}

/** Returns the filter after the handshake, or throws what it threw. */
function filterAfterHandshake(): RfbInputFilter {
  const filter = new RfbInputFilter();
  filter.filter(handshake);
  return filter;
}

describe("RfbInputFilter", () => {
  it("passes the handshake unchanged", () => {
    expectAtEverySplit(handshake, handshake, 0);
  });

  it("passes a VNC authentication response", () => {
    const input = Buffer.concat([
      version38,
      Buffer.from([2]),
      Buffer.alloc(16, 0x5a),
      clientInitShared,
      updateRequest,
    ]);

    expectAtEverySplit(input, input, 0);
  });

  it("accepts RFB 3.7", () => {
    const input = Buffer.concat([
      Buffer.from("RFB 003.007\n", "latin1"),
      securityNone,
      clientInitShared,
      keyDownA,
      updateRequest,
    ]);
    const expected = Buffer.concat([
      Buffer.from("RFB 003.007\n", "latin1"),
      securityNone,
      clientInitShared,
      updateRequest,
    ]);

    expectAtEverySplit(input, expected, 1);
  });

  it("passes display messages", () => {
    const messages = Buffer.concat([
      setPixelFormat,
      setEncodings,
      updateRequest,
      continuousUpdates,
      fence,
    ]);
    const input = Buffer.concat([handshake, messages]);

    expectAtEverySplit(input, input, 0);
  });

  it("drops key, pointer and clipboard messages", () => {
    const input = Buffer.concat([
      handshake,
      keyDownA,
      updateRequest,
      pointerClick,
      cutText,
      setEncodings,
      keyDownA,
    ]);
    const expected = Buffer.concat([handshake, updateRequest, setEncodings]);

    expectAtEverySplit(input, expected, 4);
  });

  it("drops extension messages that change the sandbox", () => {
    const input = Buffer.concat([
      handshake,
      extendedCutText,
      extendedPointer,
      qemuKeyEvent,
      fence,
      setDesktopSize,
      xvpReboot,
      updateRequest,
    ]);
    const expected = Buffer.concat([handshake, fence, updateRequest]);

    expectAtEverySplit(input, expected, 5);
  });

  it("drops input bytes that look like message types", () => {
    // The key event's keysym is 3 (a FramebufferUpdateRequest type byte),
    // and the clipboard text starts with 4, 5 and 6.
    const trickyKey = Buffer.from([4, 1, 0, 0, 0, 0, 0, 3]);
    const trickyCut = Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 4, 5, 6]);
    const input = Buffer.concat([
      handshake,
      trickyKey,
      trickyCut,
      updateRequest,
    ]);
    const expected = Buffer.concat([handshake, updateRequest]);

    expectAtEverySplit(input, expected, 2);
  });

  it("passes a message split one byte at a time", () => {
    const filter = new RfbInputFilter();
    const input = Buffer.concat([handshake, setEncodings, keyDownA]);
    const outputs = [...input].map((byte) =>
      filter.filter(Buffer.from([byte])),
    );

    expect(Buffer.concat(outputs).toString("hex")).toBe(
      Buffer.concat([handshake, setEncodings]).toString("hex"),
    );
    expect(filter.droppedMessages).toBe(1);
  });

  it("forwards a complete message without waiting for more", () => {
    const filter = filterAfterHandshake();

    expect(filter.filter(updateRequest).toString("hex")).toBe(
      updateRequest.toString("hex"),
    );
  });

  it("rejects an unknown protocol version", () => {
    const filter = new RfbInputFilter();

    expect(() => filter.filter(Buffer.from("RFB 003.003\n", "latin1"))).toThrow(
      /protocol version "RFB 003.003\\n"/,
    );
  });

  it("rejects an unsupported security type", () => {
    const filter = new RfbInputFilter();

    expect(() =>
      filter.filter(Buffer.concat([version38, Buffer.from([19])])),
    ).toThrow(/security type 19/);
  });

  it("rejects an unknown message type", () => {
    const filter = filterAfterHandshake();

    expect(() => filter.filter(Buffer.from([7, 0, 0, 0]))).toThrow(
      ConsoleError,
    );
  });

  it("rejects a QEMU audio message", () => {
    const filter = filterAfterHandshake();

    expect(() => filter.filter(Buffer.from([255, 1, 0, 0]))).toThrow(
      /QEMU message subtype 1/,
    );
  });

  it("keeps rejecting after an error", () => {
    const filter = filterAfterHandshake();
    expect(() => filter.filter(Buffer.from([7]))).toThrow(/message type 7/);

    expect(() => filter.filter(updateRequest)).toThrow(/already rejected/);
  });
});

describe("RfbInputFilter viewOnly switch", () => {
  // Messages after the handshake, each with whether it carries input.
  const messages: Array<[Buffer, boolean]> = [
    [keyDownA, true],
    [updateRequest, false],
    [cutText, true],
    [pointerClick, true],
    [setEncodings, false],
    [extendedCutText, true],
    [keyDownA, true],
  ];
  const input = Buffer.concat([handshake, ...messages.map(([bytes]) => bytes)]);

  /**
   * Returns the expected output when `viewOnly` changes from `initial` once
   * the first `cut` bytes were filtered: a message keeps the state that
   * held when its first byte arrived.
   */
  function expectedOutput(initial: boolean, cut: number): string {
    const parts: Buffer[] = [handshake];
    let start = handshake.length;
    for (const [bytes, isInputMessage] of messages) {
      const viewOnly = start < cut ? initial : !initial;
      if (!isInputMessage || !viewOnly) parts.push(bytes);
      start += bytes.length;
    }
    return Buffer.concat(parts).toString("hex");
  }

  for (const initial of [true, false]) {
    it(`switches from ${initial ? "view-only" : "control"} at every byte`, () => {
      for (let cut = handshake.length; cut <= input.length; cut += 1) {
        const filter = new RfbInputFilter({ viewOnly: initial });
        const before = filter.filter(input.subarray(0, cut));
        filter.viewOnly = !initial;
        const after = filter.filter(input.subarray(cut));

        expect(
          Buffer.concat([before, after]).toString("hex"),
          `switch after byte ${cut}`,
        ).toBe(expectedOutput(initial, cut));
      }
    });
  }

  it("keeps a half-read header's state", () => {
    // The ClientCutText length is unknown until 8 bytes arrived, and the
    // switch comes after 3 of them.
    const filter = new RfbInputFilter({ viewOnly: true });
    filter.filter(handshake);
    expect(filter.filter(cutText.subarray(0, 3)).length).toBe(0);
    filter.viewOnly = false;

    expect(filter.filter(cutText.subarray(3)).length).toBe(0);
    expect(filter.filter(keyDownA).toString("hex")).toBe(keyDownA.toString("hex"));
    expect(filter.droppedMessages).toBe(1);
  });

  it("forwards input when created with control", () => {
    const filter = new RfbInputFilter({ viewOnly: false });
    const all = Buffer.concat([handshake, keyDownA, pointerClick, cutText]);

    expect(filter.filter(all).toString("hex")).toBe(all.toString("hex"));
    expect(filter.droppedMessages).toBe(0);
  });
});

describe("RfbInputFilter segments", () => {
  it("labels split messages with their type", () => {
    const filter = new RfbInputFilter({ viewOnly: false });
    const handshakeSegments = filter.segments(handshake);
    const first = filter.segments(
      Buffer.concat([updateRequest, cutText.subarray(0, 10)]),
    );
    const second = filter.segments(cutText.subarray(10));

    expect(handshakeSegments.map((segment) => segment.messageType)).toEqual([
      null,
      null,
      null,
    ]);
    expect(first.map(({ messageType, last }) => [messageType, last])).toEqual([
      [3, false],
      [3, true],
      [6, false],
      [6, false],
    ]);
    expect(second.map(({ messageType, last }) => [messageType, last])).toEqual([
      [6, true],
    ]);
    expect(Buffer.concat(second.map((s) => s.bytes)).toString("latin1")).toBe(
      "llo",
    );
  });
});
