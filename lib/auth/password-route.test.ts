import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { POST } from "@/app/api/account/password/route";
import { listAuditEvents } from "@/lib/audit/audit";
import { closeDb, type Db } from "@/lib/db/client";
import { openTestDb, truncateTables } from "@/lib/db/test-database";

import { authFor, consoleBaseUrl } from "./auth";
import { PASSWORD_CHANGE_ACTION } from "./password";
import { createUser } from "./users";

const email = "route-user@console.localhost";
const oldPassword = "old-password-0123";
const newPassword = "new-password-4567";
const url = "http://127.0.0.1:3000/api/account/password";

let db: Db;

beforeAll(async () => {
  db = await openTestDb();
});

afterAll(async () => {
  await closeDb(db);
});

beforeEach(async () => {
  await truncateTables(db);
  await createUser(db, {
    email,
    name: "Route user",
    role: "auditor",
    password: oldPassword,
  });
});

async function sessionCookie(): Promise<string> {
  const { headers } = await authFor(db).api.signInEmail({
    body: { email, password: oldPassword },
    returnHeaders: true,
  });
  return headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}

function post(
  body: string,
  headers: Record<string, string>,
): Promise<Response> {
  return POST(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    }),
  );
}

const change = JSON.stringify({
  currentPassword: oldPassword,
  newPassword,
  confirmPassword: newPassword,
});

describe("POST /api/account/password", () => {
  it("POST /api/account/password: changes it for any role", async () => {
    const response = await post(change, {
      cookie: await sessionCookie(),
      origin: "http://127.0.0.1:3000",
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const rows = await listAuditEvents(db, { limit: 10 });
    expect(
      rows
        .filter((row) => row.action === PASSWORD_CHANGE_ACTION)
        .map((row) => row.result),
    ).toEqual(["success", "pending"]);
  });

  it("POST /api/account/password: 401 when signed out", async () => {
    const response = await post(change, {});

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: {
        code: "unauthenticated",
        message:
          "Your session has ended. Sign in again, then change your password.",
      },
    });
  });

  it("POST /api/account/password: 403 from another site", async () => {
    const response = await post(change, {
      cookie: await sessionCookie(),
      origin: "https://evil.example",
    });

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: {
        code: "forbidden",
        message:
          "Requests from https://evil.example cannot change passwords. " +
          `Use the console at ${consoleBaseUrl()}.`,
      },
    });
    const rows = await listAuditEvents(db, { limit: 10 });
    expect(rows.some((row) => row.action === PASSWORD_CHANGE_ACTION)).toBe(
      false,
    );
  });

  it("POST /api/account/password: 400 for a body that is not JSON", async () => {
    const response = await post("currentPassword=x", {
      cookie: await sessionCookie(),
    });

    expect(response.status).toBe(400);
    expect(
      ((await response.json()) as { error: { code: string } }).error.code,
    ).toBe("invalid_input");
  });

  it("POST /api/account/password: 400 naming a mismatch", async () => {
    const response = await post(
      JSON.stringify({
        currentPassword: oldPassword,
        newPassword,
        confirmPassword: "something-else-99",
      }),
      { cookie: await sessionCookie() },
    );

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: "invalid_input",
        message:
          "The new password and its confirmation differ. Type the same password twice.",
      },
    });
  });
});
