import { randomBytes } from "node:crypto";
import { APIError } from "better-auth/api";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { user as userTable } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { parseInput } from "@/lib/validation";
import { sessionControlRoleError } from "./accounts";
import { authFor, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./auth";
import { isGrantable, roles, type ConsoleUser } from "./permissions";

// Better Auth validates emails with zod's z.email(), which requires a dot in
// the domain, so "admin@localhost" would be rejected at sign-in.
export const DEFAULT_ADMIN_EMAIL = "admin@console.localhost";

const createUserInput = z.object({
  email: z
    .email()
    .max(320)
    .transform((email) => email.toLowerCase()),
  name: z.string().trim().min(1).max(200),
  role: z.enum(roles),
  password: z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH),
});

export type CreateUserParams = z.input<typeof createUserInput>;

export type FirstAdminResult =
  | { created: true; email: string; password: string }
  | { created: false; email: string };

/**
 * Creates a user with an email and password sign-in, hashing the password
 * with Better Auth's hasher. Throws ConsoleError "invalid_input" for a bad
 * email, name, role or password length and "conflict" when the email is
 * taken. Callers acting for a signed-in admin wrap this in runAudited.
 */
export async function createUser(
  db: Db,
  params: CreateUserParams,
): Promise<ConsoleUser> {
  const { email, name, role, password } = parseInput(createUserInput, params);
  try {
    const { user } = await authFor(db).api.createUser({
      body: { email, name, role, password },
    });
    return { id: user.id, email: user.email, name: user.name, role, grants: [] };
  } catch (error) {
    if (error instanceof APIError && error.status === "BAD_REQUEST") {
      const taken = await findUserByEmail(db, email);
      if (taken) {
        throw new ConsoleError(
          "conflict",
          `A user with the email ${email} already exists.`,
          { cause: error },
        );
      }
    }
    throw error;
  }
}

/**
 * Creates the first admin account when no admin exists, with the email in
 * SANDBOX_CONSOLE_ADMIN_EMAIL (default admin@console.localhost) and a random
 * one-time password that is returned, never stored in clear. Returns the
 * existing admin's email when there already is one.
 */
export async function ensureFirstAdmin(db: Db): Promise<FirstAdminResult> {
  const existing = await findFirstAdmin(db);
  if (existing) return { created: false, email: existing.email };

  const email = adminEmail();
  const password = generatePassword();

  await runAudited(
    db,
    {
      actor: { system: "create-admin" },
      action: "user.create",
      params: { email, role: "admin" },
    },
    () =>
      createUser(db, { email, name: "Administrator", role: "admin", password }),
  );
  return { created: true, email, password };
}

/**
 * Sets a new random password for the first admin (or the admin with
 * SANDBOX_CONSOLE_ADMIN_EMAIL, when set), signs out all of their sessions
 * and returns the email and the new password.
 */
export async function resetAdminPassword(
  db: Db,
): Promise<{ email: string; password: string }> {
  const admin = process.env.SANDBOX_CONSOLE_ADMIN_EMAIL
    ? await findUserByEmail(db, adminEmail())
    : await findFirstAdmin(db);

  if (!admin || admin.role !== "admin") {
    throw new ConsoleError(
      "not_found",
      "No admin account to reset. Run `tsx scripts/create-admin.ts` " +
        "without --reset to create one.",
    );
  }

  const password = generatePassword();
  await runAudited(
    db,
    {
      actor: { system: "create-admin" },
      action: "user.reset_password",
      params: { email: admin.email },
    },
    async () => {
      const context = await authFor(db).$context;
      const hash = await context.password.hash(password);

      await context.internalAdapter.updatePassword(admin.id, hash);
      await context.internalAdapter.deleteUserSessions(admin.id);
    },
  );
  return { email: admin.email, password };
}

async function findFirstAdmin(db: Db) {
  const [admin] = await db
    .select()
    .from(userTable)
    .where(eq(userTable.role, "admin"))
    .orderBy(asc(userTable.createdAt))
    .limit(1);
  return admin;
}

async function findUserByEmail(db: Db, email: string) {
  const [found] = await db
    .select()
    .from(userTable)
    .where(eq(userTable.email, email.toLowerCase()))
    .limit(1);
  return found;
}

function adminEmail(): string {
  const email = process.env.SANDBOX_CONSOLE_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL;
  if (!z.email().safeParse(email).success) {
    throw new ConsoleError(
      "invalid_input",
      `SANDBOX_CONSOLE_ADMIN_EMAIL "${email}" is not a valid email address ` +
        "(the domain needs a dot, for example admin@console.localhost).",
    );
  }
  return email.toLowerCase();
}

/** 24 random bytes as base64url: 32 characters, 192 bits. */
function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Grants or revokes session control for the user with `email`, without an
 * audit row or closing open views, for test set-up. Only roles for which it
 * is grantable (support) can hold the grant. Throws ConsoleError
 * "not_found" or "invalid_input". Console changes go through
 * setSessionControl in accounts.ts instead.
 */
export async function setSessionControlGrant(
  db: Db,
  email: string,
  granted: boolean,
): Promise<ConsoleUser> {
  const found = await findUserByEmail(db, email.toLowerCase());
  if (!found) {
    throw new ConsoleError("not_found", `No user with the email ${email}.`);
  }
  const role = found.role;
  if (!isGrantable(role, "session:control")) {
    throw sessionControlRoleError(email, role);
  }
  await db
    .update(userTable)
    .set({ sessionControl: granted })
    .where(eq(userTable.id, found.id));
  return {
    id: found.id,
    email: found.email,
    name: found.name,
    role,
    grants: granted ? ["session:control"] : [],
  };
}
