import { APIError } from "better-auth/api";
import { eq } from "drizzle-orm";
import { z } from "zod";

import { runAudited } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { user as userTable } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { parseInput } from "@/lib/validation";

import { authFor, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./auth";
import type { ConsoleUser } from "./permissions";

/** The audit action of a password change by the signed-in user. */
export const PASSWORD_CHANGE_ACTION = "user.password.change";

// Custom issues keep the passwords out of the messages, which reach the
// audit log, and word each rule for the form.
const changePasswordInput = z
  .object({
    currentPassword: z.string(),
    newPassword: z.string(),
    confirmPassword: z.string(),
  })
  .superRefine((input, context) => {
    const problem = passwordProblem(input);
    if (problem !== null)
      context.addIssue({ code: "custom", message: problem });
  });

export type ChangePasswordInput = z.input<typeof changePasswordInput>;

function passwordProblem(
  input: z.output<typeof changePasswordInput>,
): string | null {
  const length = [...input.newPassword].length;

  if (input.currentPassword === "") return "Enter your current password.";
  if (length < MIN_PASSWORD_LENGTH) {
    return `The new password has ${length} characters. Use at least ${MIN_PASSWORD_LENGTH}.`;
  }
  if (length > MAX_PASSWORD_LENGTH) {
    return `The new password has ${length} characters. Use at most ${MAX_PASSWORD_LENGTH}.`;
  }
  if (input.newPassword !== input.confirmPassword) {
    return "The new password and its confirmation differ. Type the same password twice.";
  }
  if (input.newPassword === input.currentPassword) {
    return "The new password is the same as the current one. Choose a different password.";
  }
  return null;
}

export interface ChangeOwnPasswordRequest {
  user: ConsoleUser;
  /** The request's headers, which carry the session cookie. */
  headers: Headers;
  sourceAddress?: string | null;
  input: unknown;
}

/**
 * Changes the signed-in user's password with Better Auth's changePassword
 * and signs out their other sessions. The current session gets a new
 * token, which Better Auth sets as the session cookie. The change is
 * audited as user.password.change without any password in the row, and it
 * is rejected when the audit log cannot be written.
 */
export async function changeOwnPassword(
  db: Db,
  request: ChangeOwnPasswordRequest,
): Promise<void> {
  const { currentPassword, newPassword } = parseInput(
    changePasswordInput,
    request.input,
  );

  await runAudited(
    db,
    {
      actor: { id: request.user.id, email: request.user.email },
      sourceAddress: request.sourceAddress,
      action: PASSWORD_CHANGE_ACTION,
      params: { revokeOtherSessions: true },
    },
    async () => {
      try {
        await authFor(db).api.changePassword({
          body: { currentPassword, newPassword, revokeOtherSessions: true },
          headers: request.headers,
        });
      } catch (error) {
        throw describeChangeFailure(error);
      }

      // The one-time password an admin set is replaced, so the console
      // opens up again.
      await db
        .update(userTable)
        .set({ mustChangePassword: false })
        .where(eq(userTable.id, request.user.id));
    },
  );
}

function describeChangeFailure(error: unknown): unknown {
  if (!(error instanceof APIError)) return error;

  const code = (error.body as { code?: string } | undefined)?.code;
  if (code === "INVALID_PASSWORD") {
    return new ConsoleError(
      "invalid_input",
      "The current password is incorrect. Enter the password you signed in with.",
      { cause: error },
    );
  }
  if (code === "UNAUTHORIZED") {
    return new ConsoleError(
      "unauthenticated",
      "Your session has ended. Sign in again, then change your password.",
      { cause: error },
    );
  }
  if (code === "CREDENTIAL_ACCOUNT_NOT_FOUND") {
    return new ConsoleError(
      "conflict",
      "This account has no password to change. Ask an administrator to set one.",
      { cause: error },
    );
  }
  return error;
}
