import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import {
  assertInstanceRef,
  instanceNameSchema,
  projectNameSchema,
} from "./names";

describe("instanceNameSchema", () => {
  it.each(["a", "web-1", "Sandbox-42", "x".repeat(63), "a1-b2-c3"])(
    "accepts %s",
    (name) => {
      expect(instanceNameSchema.safeParse(name).success).toBe(true);
    },
  );

  const invalid: Array<[string, string]> = [
    ["", "must not be empty"],
    ["x".repeat(64), "64 characters, at most 63"],
    ["1web", "must start with a letter"],
    ["-web", "must start with a letter"],
    ["web-", "must not end with a hyphen"],
    ["web_1", "only ASCII letters, digits and hyphens"],
    ["web.1", "only ASCII letters, digits and hyphens"],
    ["web 1", "only ASCII letters, digits and hyphens"],
    ["wéb", "only ASCII letters, digits and hyphens"],
    ["a/b", "only ASCII letters, digits and hyphens"],
  ];

  it("states the rule in the message", () => {
    const result = instanceNameSchema.safeParse("web-");

    expect(result.error?.issues[0]?.message).toBe(
      'Invalid instance name "web-": it must not end with a hyphen. ' +
        "Instance names are 1 to 63 ASCII letters, digits and hyphens, " +
        "start with a letter and do not end with a hyphen.",
    );
  });

  it.each(invalid)("rejects %j naming the rule", (name, rule) => {
    const result = instanceNameSchema.safeParse(name);

    expect(result.success).toBe(false);
    const message = result.error?.issues[0]?.message ?? "";
    expect(message).toContain(`Invalid instance name ${JSON.stringify(name)}`);
    expect(message).toContain(rule);
  });
});

describe("projectNameSchema", () => {
  it.each(["default", "team-a", "Team.A", "p1", "team?x", "h#1", "p%41"])(
    "accepts %s",
    (name) => {
      expect(projectNameSchema.safeParse(name).success).toBe(true);
    },
  );

  it("states the rule in the message", () => {
    const result = projectNameSchema.safeParse("a_b");

    expect(result.error?.issues[0]?.message).toBe(
      'Invalid project name "a_b": underscores are not allowed. ' +
        "Project names may contain any character except slashes, spaces, " +
        'underscores and quotes, and must not be empty, "*", "." or "..".',
    );
  });

  const invalid: Array<[string, string]> = [
    ["", "must not be empty"],
    ["a/b", "slashes"],
    ["a b", "spaces"],
    ["a_b", "underscores"],
    ["a'b", "quotes"],
    ['a"b', "quotes"],
    ["*", "reserved"],
    [".", "reserved"],
    ["..", "reserved"],
  ];

  it.each(invalid)("rejects %j naming the rule", (name, rule) => {
    const result = projectNameSchema.safeParse(name);

    expect(result.success).toBe(false);
    const message = result.error?.issues[0]?.message ?? "";
    expect(message).toContain(`Invalid project name ${JSON.stringify(name)}`);
    expect(message).toContain(rule);
  });
});

describe("assertInstanceRef", () => {
  it("accepts a valid reference", () => {
    expect(() =>
      assertInstanceRef({ project: "default", name: "web-1" }),
    ).not.toThrow();
  });

  it("throws invalid_input for a bad name", () => {
    let caught: unknown;
    try {
      assertInstanceRef({ project: "default", name: "../etc" });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConsoleError);
    expect((caught as ConsoleError).code).toBe("invalid_input");
    expect((caught as ConsoleError).message).toContain('"../etc"');
  });

  it("throws invalid_input for a bad project", () => {
    expect(() => assertInstanceRef({ project: "a/b", name: "web" })).toThrow(
      /Invalid project name "a\/b": slashes are not allowed/,
    );
  });
});
