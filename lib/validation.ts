import { z } from "zod";

import { ConsoleError } from "@/lib/errors";

/** Issues described in full; the rest are only counted. */
const MAX_DESCRIBED_ISSUES = 3;
/** Maximum length of a value quoted in a message, in characters. */
const MAX_QUOTED_LENGTH = 60;
/** Fields whose values are never quoted, because messages reach logs. */
const SECRET_FIELD = /password|secret|token/i;

type Issue = z.core.$ZodIssue;

/**
 * Parses `input` with `schema` and returns the result. Throws
 * ConsoleError("invalid_input") whose message names each bad field, the
 * value it had and the accepted form, in plain sentences.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
): z.output<T> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    throw new ConsoleError("invalid_input", describeZodError(parsed.error), {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * Turns a zod error into sentences for users, one per issue, such as
 * `Invalid value "jump" for "action": expected "start" or "stop".` Values
 * are quoted only when the input was parsed with `reportInput: true`, as
 * parseInput does. A schema's own message is kept as the reason, so schemas
 * should word theirs as the accepted form.
 */
export function describeZodError(error: z.ZodError): string {
  const issues = error.issues;
  const sentences = issues.slice(0, MAX_DESCRIBED_ISSUES).map(describeIssue);
  const rest = issues.length - MAX_DESCRIBED_ISSUES;

  if (rest > 0) {
    sentences.push(
      `There ${rest === 1 ? "is 1 more problem" : `are ${rest} more problems`}.`,
    );
  }
  return sentences.join(" ");
}

function describeIssue(issue: Issue): string {
  // Custom issues come from refinements that write a complete sentence,
  // such as the LXD name rules, which already quote the value.
  if (issue.code === "custom") return asSentence(issue.message);

  const field = fieldLabel(issue.path);
  const reason = hasOwnMessage(issue) ? issue.message : acceptedForm(issue);

  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((key) => JSON.stringify(key)).join(", ");
    const where = issue.path.length > 0 ? ` in ${field}` : "";
    return asSentence(
      `Unknown field${issue.keys.length === 1 ? "" : "s"} ${keys}${where}; remove ${issue.keys.length === 1 ? "it" : "them"}`,
    );
  }

  if (!("input" in issue) || isSecret(issue.path)) {
    return asSentence(`Invalid ${field}: ${reason}`);
  }
  if (issue.input === undefined) {
    return asSentence(`Missing ${field}: ${reason}`);
  }
  if (isScalar(issue.input)) {
    return asSentence(
      `Invalid value ${describeValue(issue.input)} for ${field}: ${reason}`,
    );
  }
  return asSentence(
    `Invalid ${field} (${describeValue(issue.input)}): ${reason}`,
  );
}

/** Returns whether the schema set its own message instead of zod's default one. */
function hasOwnMessage(issue: Issue): boolean {
  const localeError = z.config().localeError;
  if (!localeError) return true;

  const fallback = localeError(issue as never);
  const text = typeof fallback === "string" ? fallback : fallback?.message;
  return text !== issue.message;
}

function acceptedForm(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${typeName(issue.expected)}`;
    case "invalid_value":
      return `expected ${listChoices(issue.values.map((value) => JSON.stringify(value)))}`;
    case "too_small":
      return sizeLimit(
        issue.origin,
        "at least",
        issue.minimum,
        issue.inclusive,
      );
    case "too_big":
      return sizeLimit(issue.origin, "at most", issue.maximum, issue.inclusive);
    case "invalid_format":
      return formatName(issue);
    case "not_multiple_of":
      return `expected a multiple of ${String(issue.divisor)}`;
    case "invalid_union":
      return "it matches none of the accepted forms";
    case "invalid_key":
      return "it contains an invalid key";
    case "invalid_element":
      return "it contains an invalid entry";
    default:
      return issue.message;
  }
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    object: "a JSON object",
    array: "a list",
    bigint: "a whole number",
    date: "a date",
    null: "null",
  };
  return names[expected] ?? `a value of type ${expected}`;
}

function sizeLimit(
  origin: string,
  bound: "at least" | "at most",
  limit: number | bigint,
  inclusive: boolean | undefined,
): string {
  const value = Number(limit);

  if (origin === "string") {
    if (bound === "at least" && value === 1) return "it must not be empty";
    return `expected ${bound} ${value} character${value === 1 ? "" : "s"}`;
  }
  if (origin === "array" || origin === "set") {
    if (bound === "at least" && value === 1)
      return "the list must not be empty";
    return `expected ${bound} ${value} item${value === 1 ? "" : "s"}`;
  }
  if (inclusive === false) {
    return `expected a number ${bound === "at least" ? "greater" : "less"} than ${value}`;
  }
  return `expected a number ${bound} ${value}`;
}

function formatName(issue: z.core.$ZodIssueInvalidStringFormat): string {
  switch (issue.format) {
    case "email":
      return "expected an email address such as name@example.com";
    case "url":
      return "expected a URL such as https://lxd.example.com:8443";
    case "regex":
      return `expected text matching ${issue.pattern ?? "the pattern"}`;
    default:
      return `expected a valid ${issue.format}`;
  }
}

function isSecret(path: PropertyKey[]): boolean {
  return path.some(
    (part) => typeof part === "string" && SECRET_FIELD.test(part),
  );
}

function fieldLabel(path: PropertyKey[]): string {
  if (path.length === 0) return "input";

  let label = "";
  for (const part of path) {
    if (typeof part === "number") label += `[${part}]`;
    else label += label === "" ? String(part) : `.${String(part)}`;
  }
  return `"${label}"`;
}

function isScalar(value: unknown): boolean {
  return value === null || (typeof value !== "object" && !Array.isArray(value));
}

/** Quotes a value for a message, shortened so one field cannot flood it. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) {
    return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
  }
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  if (typeof value === "bigint") return String(value);

  // JSON has no form for functions and symbols, so the message names their type.
  const text = JSON.stringify(value) ?? `a ${typeof value}`;
  if (text.length <= MAX_QUOTED_LENGTH) return text;
  return `${text.slice(0, MAX_QUOTED_LENGTH - 1)}…"`;
}

function listChoices(choices: string[]): string {
  if (choices.length <= 1) return choices[0] ?? "nothing";
  return `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

function asSentence(text: string): string {
  const trimmed = text.trim();
  const capitalized = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}
