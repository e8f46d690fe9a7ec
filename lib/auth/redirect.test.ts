import { describe, expect, it } from "vitest";
import { safeNextPath } from "./redirect";

describe("safeNextPath", () => {
  const kept = [
    "/",
    "/instances",
    "/instances/local/default/a?tab=logs",
    "/audit#top",
  ];
  const replaced = [
    null,
    undefined,
    "",
    "instances",
    "https://evil.example/",
    "//evil.example/path",
    "/\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "/login",
    "/login?next=/login",
  ];

  for (const value of kept) {
    it(`keeps ${value}`, () => {
      expect(safeNextPath(value)).toBe(value);
    });
  }

  for (const value of replaced) {
    it(`replaces ${JSON.stringify(value)} with /`, () => {
      expect(safeNextPath(value)).toBe("/");
    });
  }

  it("normalizes dot segments", () => {
    expect(safeNextPath("/instances/../audit")).toBe("/audit");
  });
});
