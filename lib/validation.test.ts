import { describe, expect, it } from "vitest";
import { z } from "zod";

import { ConsoleError } from "@/lib/errors";
import { instanceNameSchema } from "@/lib/lxd/names";

import { describeZodError, parseInput } from "./validation";

const actionInput = z
  .object({
    host: z.string().regex(/^[a-z]+$/, "host ids are lowercase letters"),
    action: z.enum(["start", "stop", "restart"]),
    force: z.boolean().default(false),
    count: z.number().int().min(1).max(5).optional(),
    keys: z.array(z.string()).max(2).optional(),
    email: z.email().optional(),
    label: z.string().min(1).optional(),
  })
  .strict();

function messageFor(schema: z.ZodType, input: unknown): string {
  try {
    parseInput(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("invalid_input");
    return (error as ConsoleError).message;
  }
  throw new Error("parseInput accepted the input");
}

describe("parseInput", () => {
  it("returns the parsed value", () => {
    expect(parseInput(actionInput, { host: "local", action: "stop" })).toEqual({
      host: "local",
      action: "stop",
      force: false,
    });
  });

  const cases: Array<[string, unknown, string]> = [
    [
      "enum value",
      { host: "local", action: "jump" },
      'Invalid value "jump" for "action": expected "start", "stop" or "restart".',
    ],
    [
      "missing field",
      { host: "local" },
      'Missing "action": expected "start", "stop" or "restart".',
    ],
    [
      "wrong type",
      { host: "local", action: "stop", force: "yes" },
      'Invalid value "yes" for "force": expected true or false.',
    ],
    [
      "schema's own message",
      { host: "Bad!", action: "stop" },
      'Invalid value "Bad!" for "host": host ids are lowercase letters.',
    ],
    [
      "number range",
      { host: "local", action: "stop", count: 9 },
      'Invalid value 9 for "count": expected a number at most 5.',
    ],
    [
      "list length",
      { host: "local", action: "stop", keys: ["a", "b", "c"] },
      'Invalid "keys" (a list of 3 items): expected at most 2 items.',
    ],
    [
      "email format",
      { host: "local", action: "stop", email: "nobody" },
      'Invalid value "nobody" for "email": expected an email address such as name@example.com.',
    ],
    [
      "empty string",
      { host: "local", action: "stop", label: "" },
      'Invalid value "" for "label": it must not be empty.',
    ],
    [
      "unknown field",
      { host: "local", action: "stop", colour: "red" },
      'Unknown field "colour"; remove it.',
    ],
    [
      "not an object",
      "stop",
      'Invalid value "stop" for input: expected a JSON object.',
    ],
    [
      "list instead of object",
      ["stop"],
      "Invalid input (a list of 1 item): expected a JSON object.",
    ],
  ];

  it.each(cases)("describes %s in a sentence", (_case, input, expected) => {
    expect(messageFor(actionInput, input)).toBe(expected);
  });

  it("keeps refinement sentences as written", () => {
    const message = messageFor(z.object({ name: instanceNameSchema }), {
      name: "1web",
    });

    expect(message).toMatch(/^Invalid instance name "1web": /);
  });

  it("writes no zod formatting", () => {
    const message = messageFor(actionInput, {
      host: "Bad!",
      action: "jump",
      force: 1,
    });

    expect(message).not.toMatch(/[✖→]/);
    expect(message).not.toContain("\n");
  });

  it("counts issues beyond the third", () => {
    const message = messageFor(actionInput, {
      host: "Bad!",
      action: "jump",
      force: 1,
      count: 0,
      label: "",
    });

    expect(message.split(". ")).toHaveLength(4);
    expect(message).toMatch(/There are 2 more problems\.$/);
  });

  it("never quotes a password", () => {
    const schema = z.object({ newPassword: z.string().min(12) });
    const message = messageFor(schema, { newPassword: "hunter2" });

    expect(message).toBe(
      'Invalid "newPassword": expected at least 12 characters.',
    );
    expect(message).not.toContain("hunter2");
  });

  it("shortens long values", () => {
    const message = messageFor(actionInput, {
      host: "local",
      action: "x".repeat(500),
    });

    expect(message.length).toBeLessThan(160);
    expect(message).toContain("…");
  });
});

describe("describeZodError", () => {
  it("names the field when the value was not reported", () => {
    const parsed = actionInput.safeParse({ host: "local", action: "jump" });

    expect(parsed.success).toBe(false);
    expect(describeZodError(parsed.error!)).toBe(
      'Invalid "action": expected "start", "stop" or "restart".',
    );
  });

  it("labels nested paths and list indexes", () => {
    const schema = z.array(z.object({ id: z.string() }));
    const parsed = schema.safeParse([{ id: "a" }, { id: 7 }], {
      reportInput: true,
    });

    expect(describeZodError(parsed.error!)).toBe(
      'Invalid value 7 for "[1].id": expected a string.',
    );
  });
});
