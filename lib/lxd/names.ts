import { z } from "zod";

import { ConsoleError } from "@/lib/errors";

/** LXD's instance name rule, worded for error messages. */
export const INSTANCE_NAME_RULE =
  "Instance names are 1 to 63 ASCII letters, digits and hyphens, start " +
  "with a letter and do not end with a hyphen.";

/** LXD's project name rule, worded for error messages. */
export const PROJECT_NAME_RULE =
  "Project names may contain any character except slashes, spaces, " +
  'underscores and quotes, and must not be empty, "*", "." or "..".';

/**
 * Instance names follow LXD's rule for host names: 1 to 63 characters of
 * ASCII letters, digits and hyphens, starting with a letter and not ending
 * with a hyphen.
 */
export const instanceNameSchema = z.string().superRefine((value, context) => {
  const rule = instanceNameViolation(value);
  if (rule !== null) {
    context.addIssue({
      code: "custom",
      message: `Invalid instance name ${JSON.stringify(value)}: ${rule}. ${INSTANCE_NAME_RULE}`,
    });
  }
});

/**
 * Project names follow the checks of LXD's projectValidateName: not empty, no slash, space, underscore or quote, and not one of "*", "."
 * or "..". Every other character is valid, "?", "#" and "%" included: LXD
 * 5.0.2 creates and serves such projects, and the console encodes names in
 * every URL it builds.
 */
export const projectNameSchema = z.string().superRefine((value, context) => {
  const rule = projectNameViolation(value);
  if (rule !== null) {
    context.addIssue({
      code: "custom",
      message: `Invalid project name ${JSON.stringify(value)}: ${rule}. ${PROJECT_NAME_RULE}`,
    });
  }
});

/** An instance addressed on one server. */
export interface LxdInstanceRef {
  project: string;
  name: string;
}

/**
 * Checks the project and name of an instance reference before they go into
 * a URL, and throws ConsoleError("invalid_input") naming the broken rule.
 */
export function assertInstanceRef(ref: LxdInstanceRef): void {
  assertProjectName(ref.project);

  const name = instanceNameSchema.safeParse(ref.name);
  if (!name.success) {
    throw new ConsoleError("invalid_input", firstMessage(name.error));
  }
}

/** Throws ConsoleError("invalid_input") for a project name LXD would reject. */
export function assertProjectName(project: string): void {
  const parsed = projectNameSchema.safeParse(project);
  if (!parsed.success) {
    throw new ConsoleError("invalid_input", firstMessage(parsed.error));
  }
}

function instanceNameViolation(value: string): string | null {
  if (value.length === 0) return "it must not be empty";
  if (value.length > 63) {
    return `it has ${value.length} characters, at most 63 are allowed`;
  }
  if (!/^[A-Za-z0-9-]+$/.test(value)) {
    return "only ASCII letters, digits and hyphens are allowed";
  }
  if (!/^[A-Za-z]/.test(value)) return "it must start with a letter";
  if (value.endsWith("-")) return "it must not end with a hyphen";
  return null;
}

function projectNameViolation(value: string): string | null {
  if (value.length === 0) return "it must not be empty";
  if (value.includes("/")) return "slashes are not allowed";
  if (value.includes(" ")) return "spaces are not allowed";
  if (value.includes("_")) return "underscores are not allowed";
  if (value.includes("'") || value.includes('"')) {
    return "quotes are not allowed";
  }
  if (value === "*" || value === "." || value === "..") {
    return "the name is reserved";
  }
  return null;
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? "invalid value";
}
