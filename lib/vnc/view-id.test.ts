import { afterEach, describe, expect, it, vi } from "vitest";

import { newViewId, screenshotFileName } from "./view-id";

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newViewId", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("returns a version 4 UUID", () => {
    expect(newViewId()).toMatch(uuidV4);
  });

  it("differs on each call", () => {
    expect(newViewId()).not.toBe(newViewId());
  });

  it("works without randomUUID", () => {
    const real = globalThis.crypto;
    vi.stubGlobal("crypto", {
      getRandomValues: (array: Uint8Array) => real.getRandomValues(array),
    });
    const id = newViewId();
    vi.unstubAllGlobals();
    expect(id).toMatch(uuidV4);
  });
});

describe("screenshotFileName", () => {
  it("joins the name and the UTC time", () => {
    const at = new Date("2026-01-05T10:04:59.123Z");
    expect(screenshotFileName("demo-browser", at)).toBe(
      "demo-browser-2026-01-05T10-04-59Z.png",
    );
  });
});
