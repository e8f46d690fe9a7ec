import { describe, expect, it } from "vitest";

import { formatElapsed, progressPercent, touchesInstance } from "./operation-text";

describe("progressPercent", () => {
  it.each([
    ["Unpack: 40%", 40],
    ["create_instance_from_image_unpack_progress: 100%", 100],
    ["Transferred 150%", 100],
  ])("reads %s", (text, percent) => {
    expect(progressPercent(text)).toBe(percent);
  });

  it.each([null, "", "demo: 12.50MB (3.10MB/s)"])("returns null for %s", (text) => {
    expect(progressPercent(text)).toBeNull();
  });
});

describe("touchesInstance", () => {
  it("matches the instance with or without a project", () => {
    expect(touchesInstance({ instances: ["/1.0/instances/web"] }, "web")).toBe(true);
    expect(touchesInstance({ instances: ["/1.0/instances/web?project=demo"] }, "web")).toBe(true);
  });

  it("ignores other instances and prefixes", () => {
    expect(touchesInstance({ instances: ["/1.0/instances/web-2"] }, "web")).toBe(false);
    expect(touchesInstance({ instances: [] }, "web")).toBe(false);
  });

  it("matches the instance of a snapshot URL", () => {
    expect(touchesInstance({ instances: ["/1.0/instances/web/snapshots/s1"] }, "web")).toBe(true);
  });
});

describe("formatElapsed", () => {
  const start = "2026-12-04T10:00:00.000Z";
  const at = (seconds: number) => Date.parse(start) + seconds * 1000;

  it.each([
    [0, "0 s"],
    [42.9, "42 s"],
    [60, "1 min 00 s"],
    [185, "3 min 05 s"],
    [-5, "0 s"],
  ])("formats %s seconds", (seconds, text) => {
    expect(formatElapsed(start, at(seconds))).toBe(text);
  });

  it.each([null, "", "not a time"])("returns null for %s", (createdAt) => {
    expect(formatElapsed(createdAt, at(10))).toBeNull();
  });
});
