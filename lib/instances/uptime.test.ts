import { describe, expect, it } from "vitest";

import { formatUptime } from "./uptime";

const start = "2026-01-05T10:00:00.000Z";
const startMs = Date.parse(start);

describe("formatUptime", () => {
  it.each([
    [0, "0 s"],
    [42_000, "42 s"],
    [7 * 60_000 + 59_000, "7 min"],
    [(3 * 60 + 12) * 60_000, "3 h 12 min"],
    [(2 * 24 + 5) * 3_600_000 + 59 * 60_000, "2 d 5 h"],
  ])("formats %i ms", (elapsed, expected) => {
    expect(formatUptime(start, startMs + elapsed)).toBe(expected);
  });

  it("shows a dash without a start time", () => {
    expect(formatUptime(null)).toBe("—");
  });

  it("shows a dash for LXD's zero time", () => {
    expect(formatUptime("0001-01-01T00:00:00Z")).toBe("—");
  });

  it("clamps a start in the future", () => {
    expect(formatUptime(start, startMs - 5_000)).toBe("0 s");
  });
});
