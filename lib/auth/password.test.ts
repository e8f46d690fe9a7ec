import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { caught } from "@/test/harness/caught";

import { authFor } from "./auth";
import { changeOwnPassword, PASSWORD_CHANGE_ACTION } from "./password";
import type { ConsoleUser } from "./permissions";
import { createUser } from "./users";

const email = "operator@console.localhost";
const oldPassword = "old-password-0123";
const newPassword = "new-password-4567";

let db: Db;
let user: ConsoleUser;

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  await closeDb(db);
});

beforeEach(async () => {
  await truncateTables(db);
  user = await createUser(db, {
    email,
    name: "Operator",
    role: "support",
    password: oldPassword,
  });
});

/** Signs in and returns request headers that carry the new session cookie. */
async function signIn(password: string): Promise<Headers> {
  const { headers } = await authFor(db).api.signInEmail({
    body: { email, password },
    returnHeaders: true,
  });
  const cookies = headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
  return new Headers({ cookie: cookies });
}

async function sessionUserId(headers: Headers): Promise<string | null> {
  const session = await authFor(db).api.getSession({ headers });
  return session?.user.id ?? null;
}

/** Returns the password change rows, newest first, without the sign-in rows. */
async function changeRows() {
  const rows = await listAuditEvents(db, { limit: 50 });
  return rows.filter((row) => row.action === PASSWORD_CHANGE_ACTION);
}

async function auditText(): Promise<string> {
  return JSON.stringify(await listAuditEvents(db, { limit: 50 }));
}

describe("changeOwnPassword", () => {
  it("changes the password and signs out other sessions", async () => {
    const current = await signIn(oldPassword);
    const other = await signIn(oldPassword);

    await changeOwnPassword(db, {
      user,
      headers: current,
      sourceAddress: "10.0.0.5",
      input: {
        currentPassword: oldPassword,
        newPassword,
        confirmPassword: newPassword,
      },
    });

    expect(await sessionUserId(other)).toBeNull();
    expect(await signIn(newPassword)).toBeInstanceOf(Headers);
    await expect(signIn(oldPassword)).rejects.toThrow();

    const changes = await changeRows();
    expect(changes.map((row) => [row.phase, row.result])).toEqual([
      ["outcome", "success"],
      ["intent", "pending"],
    ]);
    expect(changes[0]?.actorId).toBe(user.id);
    expect(changes[0]?.actor).toBe(email);
    expect(changes[0]?.sourceAddress).toBe("10.0.0.5");
    expect(changes[0]?.params).toEqual({ revokeOtherSessions: true });
    expect(await auditText()).not.toContain(oldPassword);
    expect(await auditText()).not.toContain(newPassword);
  });

  it("rejects a wrong current password and audits it", async () => {
    const current = await signIn(oldPassword);

    const error = await caught(
      changeOwnPassword(db, {
        user,
        headers: current,
        input: {
          currentPassword: "wrong-password-000",
          newPassword,
          confirmPassword: newPassword,
        },
      }),
    );

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("invalid_input");
    expect((error as ConsoleError).message).toBe(
      "The current password is incorrect. Enter the password you signed in with.",
    );
    expect(await sessionUserId(current)).toBe(user.id);
    expect(await signIn(oldPassword)).toBeInstanceOf(Headers);

    const [outcome] = await changeRows();
    expect(outcome?.phase).toBe("outcome");
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toBe((error as ConsoleError).message);
    expect(await auditText()).not.toContain("wrong-password-000");
  });

  it("rejects a signed-out request", async () => {
    const error = await caught(
      changeOwnPassword(db, {
        user,
        headers: new Headers(),
        input: {
          currentPassword: oldPassword,
          newPassword,
          confirmPassword: newPassword,
        },
      }),
    );

    expect((error as ConsoleError).code).toBe("unauthenticated");
    expect(await signIn(oldPassword)).toBeInstanceOf(Headers);
  });

  it("leaves no HTTP endpoint that skips the audit", async () => {
    const current = await signIn(oldPassword);
    current.set("content-type", "application/json");

    const response = await authFor(db).handler(
      new Request("http://127.0.0.1:3000/api/auth/change-password", {
        method: "POST",
        headers: current,
        body: JSON.stringify({ currentPassword: oldPassword, newPassword }),
      }),
    );

    expect(response.status).toBe(404);
    expect(await signIn(oldPassword)).toBeInstanceOf(Headers);
  });

  const invalid: Array<[string, Record<string, string>, string]> = [
    [
      "empty current password",
      { currentPassword: "", newPassword, confirmPassword: newPassword },
      "Enter your current password.",
    ],
    [
      "short new password",
      {
        currentPassword: oldPassword,
        newPassword: "short-1",
        confirmPassword: "short-1",
      },
      "The new password has 7 characters. Use at least 12.",
    ],
    [
      "long new password",
      {
        currentPassword: oldPassword,
        newPassword: "x".repeat(129),
        confirmPassword: "x".repeat(129),
      },
      "The new password has 129 characters. Use at most 128.",
    ],
    [
      "confirmation mismatch",
      {
        currentPassword: oldPassword,
        newPassword,
        confirmPassword: `${newPassword}!`,
      },
      "The new password and its confirmation differ. Type the same password twice.",
    ],
    [
      "unchanged password",
      {
        currentPassword: oldPassword,
        newPassword: oldPassword,
        confirmPassword: oldPassword,
      },
      "The new password is the same as the current one. Choose a different password.",
    ],
  ];

  it.each(invalid)(
    "rejects %s before Better Auth",
    async (_case, input, message) => {
      const current = await signIn(oldPassword);

      const error = await caught(
        changeOwnPassword(db, { user, headers: current, input }),
      );

      expect((error as ConsoleError).code).toBe("invalid_input");
      expect((error as ConsoleError).message).toBe(message);
      expect(await changeRows()).toEqual([]);
      expect(await sessionUserId(current)).toBe(user.id);
    },
  );
});
