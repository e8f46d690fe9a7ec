import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { auditEvents, session as sessionTable, user as userTable } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { getVncSessions } from "@/lib/vnc/sessions";

import {
  changeRole,
  createAccount,
  disableAccount,
  enableAccount,
  listAccounts,
  resetPassword,
  setSessionControl,
  signOutEverywhere,
  type AccountActor,
} from "./accounts";
import { authFor } from "./auth";
import { onSessionsRevoked } from "./live-connections";
import { changeOwnPassword } from "./password";
import { authorize, getUserFromHeaders } from "./request-user";
import { createUser } from "./users";

const password = "correct horse battery staple";
let db: Db;

beforeAll(async () => {
  process.env.BETTER_AUTH_SECRET = "test-secret-that-is-long-enough-0123456789";
  db = await openTestDb();
});

afterAll(async () => {
  await closeDb(db);
});

beforeEach(async () => {
  await truncateTables(db);
});

/** Signs in and returns the response status and request headers with the cookie. */
async function signIn(email: string, secret: string): Promise<{ status: number; headers: Headers; code?: string }> {
  const response = await authFor(db).api.signInEmail({
    body: { email, password: secret },
    asResponse: true,
  });
  const cookie = response.headers.getSetCookie().map((line) => line.split(";")[0]);
  const body = response.ok ? null : ((await response.json()) as { code?: string });
  return { status: response.status, headers: new Headers({ cookie: cookie.join("; ") }), code: body?.code };
}

async function errorOf(promise: Promise<unknown>): Promise<ConsoleError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsoleError)) throw new Error(`expected a ConsoleError, got ${String(error)}`);
  return error;
}

async function makeUser(email: string, role: "admin" | "support" | "auditor") {
  return createUser(db, { email, name: email.split("@")[0]!, role, password });
}

function actorFor(user: { id: string; email: string }): AccountActor {
  return { actor: { id: user.id, email: user.email }, userId: user.id, sourceAddress: "127.0.0.9" };
}

async function auditRows(action: string) {
  return db.select().from(auditEvents).where(eq(auditEvents.action, action)).orderBy(asc(auditEvents.id));
}

async function sessionCount(userId: string): Promise<number> {
  const rows = await db.select().from(sessionTable).where(eq(sessionTable.userId, userId));
  return rows.length;
}

/** Registers a stand-in VNC view of `userId` and returns whether it was closed. */
function openFakeView(userId: string) {
  const view = { closed: false };
  let finish = () => {};
  const ended = new Promise<void>((resolve) => (finish = resolve));
  getVncSessions().add({
    key: { host: "accounts-test", project: "default", name: `sandbox-${userId.slice(0, 8)}` },
    viewId: `view-${userId}`,
    userId,
    userName: "viewer",
    mode: "full",
    bridge: {
      setViewOnly: () => {},
      close: () => {
        view.closed = true;
        finish();
      },
      ended,
    },
  });
  return view;
}

describe("createAccount", () => {
  it("returns a one-time password that must be changed", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const { account, password: oneTime } = await createAccount(db, actorFor(admin), {
      email: "New.Support@Example.com",
      name: "New Support",
      role: "support",
    });

    expect(account.email).toBe("new.support@example.com");
    expect(account.role).toBe("support");
    expect(account.mustChangePassword).toBe(true);
    expect(account.signInMethods).toEqual(["password"]);
    expect(oneTime).toHaveLength(24);

    const { status, headers } = await signIn("new.support@example.com", oneTime);
    expect(status).toBe(200);
    const current = await getUserFromHeaders(headers, authFor(db));
    expect(current?.mustChangePassword).toBe(true);

    const refused = await errorOf(authorize(current, "instance:read", null, db));
    expect(refused.code).toBe("forbidden");
    expect(refused.message).toContain("/account");

    await changeOwnPassword(db, {
      user: current!,
      headers,
      input: { currentPassword: oneTime, newPassword: password, confirmPassword: password },
    });
    const [row] = await db.select().from(userTable).where(eq(userTable.id, account.id));
    expect(row?.mustChangePassword).toBe(false);
  });

  it("audits the creation without the password", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const { password: oneTime } = await createAccount(db, actorFor(admin), {
      email: "aud@example.com",
      name: "Aud",
      role: "auditor",
    });

    const rows = await auditRows("user.create");
    const mine = rows.filter((row) => row.actor === "admin@example.com");
    expect(mine.map((row) => [row.phase, row.result])).toEqual([
      ["intent", "pending"],
      ["outcome", "success"],
    ]);
    expect(mine[0]?.params).toEqual({ email: "aud@example.com", name: "Aud", role: "auditor" });
    expect(mine[0]?.sourceAddress).toBe("127.0.0.9");
    expect(JSON.stringify(rows)).not.toContain(oneTime);
  });

  it("rejects a taken email and a bad role", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const taken = await errorOf(
      createAccount(db, actorFor(admin), { email: "ADMIN@example.com", name: "Again", role: "auditor" }),
    );
    expect(taken.code).toBe("conflict");
    expect(taken.message).toContain("admin@example.com");

    const badRole = await errorOf(
      createAccount(db, actorFor(admin), { email: "x@example.com", name: "X", role: "root" }),
    );
    expect(badRole.code).toBe("invalid_input");
    expect(badRole.message).toContain('"root"');

    const outcomes = (await auditRows("user.create")).filter((row) => row.phase === "outcome");
    expect(outcomes.at(-1)?.result).toBe("failure");
  });
});

describe("changeRole", () => {
  it("records the role before and after", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const support = await makeUser("support@example.com", "support");
    await setSessionControl(db, actorFor(admin), { userId: support.id, granted: true });

    const changed = await changeRole(db, actorFor(admin), { userId: support.id, role: "auditor" });

    expect(changed.role).toBe("auditor");
    expect(changed.sessionControl).toBe(false);
    const [intent, outcome] = await auditRows("user.role.change");
    expect(intent?.params).toEqual({
      email: "support@example.com",
      before: { role: "support", sessionControl: true },
      after: { role: "auditor", sessionControl: false },
    });
    expect(outcome?.result).toBe("success");
  });

  it("rejects a change of one's own role", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    await makeUser("admin2@example.com", "admin");

    const error = await errorOf(changeRole(db, actorFor(admin), { userId: admin.id, role: "support" }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("your own account");
  });

  it("rejects demoting the last active admin", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const other = await makeUser("other@example.com", "admin");
    await disableAccount(db, actorFor(admin), { userId: other.id });
    const script: AccountActor = { actor: { system: "test" }, userId: null };

    const error = await errorOf(changeRole(db, script, { userId: admin.id, role: "auditor" }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("admin@example.com is the last active admin");

    const [row] = await db.select().from(userTable).where(eq(userTable.id, admin.id));
    expect(row?.role).toBe("admin");
    const outcome = (await auditRows("user.role.change")).at(-1);
    expect(outcome?.result).toBe("failure");
    expect(outcome?.error).toContain("last active admin");
  });

  it("lets only one of two admins demote the other", async () => {
    const first = await makeUser("first@example.com", "admin");
    const second = await makeUser("second@example.com", "admin");

    const results = await Promise.allSettled([
      changeRole(db, actorFor(first), { userId: second.id, role: "support" }),
      changeRole(db, actorFor(second), { userId: first.id, role: "support" }),
    ]);

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const admins = await db.select().from(userTable).where(eq(userTable.role, "admin"));
    expect(admins).toHaveLength(1);
  });
});

describe("setSessionControl", () => {
  it("rejects a grant for an auditor", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const auditor = await makeUser("aud@example.com", "auditor");

    const error = await errorOf(setSessionControl(db, actorFor(admin), { userId: auditor.id, granted: true }));
    expect(error.code).toBe("invalid_input");
    expect(error.message).toContain("auditor");
  });

  it("closes the views of a user whose grant is revoked", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const support = await makeUser("support@example.com", "support");
    await setSessionControl(db, actorFor(admin), { userId: support.id, granted: true });
    const view = openFakeView(support.id);

    const account = await setSessionControl(db, actorFor(admin), { userId: support.id, granted: false });

    expect(account.sessionControl).toBe(false);
    expect(view.closed).toBe(true);
    const rows = await auditRows("user.revoke.session_control");
    expect(rows[0]?.params).toEqual({
      email: "support@example.com",
      before: { sessionControl: true },
      after: { sessionControl: false },
    });
  });
});

describe("disableAccount", () => {
  it("cuts the sessions and rejects sign-in until enabled", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const support = await makeUser("support@example.com", "support");
    const { headers } = await signIn("support@example.com", password);
    expect(await getUserFromHeaders(headers, authFor(db))).not.toBeNull();
    const view = openFakeView(support.id);
    const revoked: string[] = [];
    const stopListening = onSessionsRevoked((userId) => revoked.push(userId));

    try {
      const disabled = await disableAccount(db, actorFor(admin), { userId: support.id });

      expect(disabled.disabled).toBe(true);
      expect(disabled.activeSessions).toBe(0);
      expect(await sessionCount(support.id)).toBe(0);
      expect(await getUserFromHeaders(headers, authFor(db))).toBeNull();
      expect(view.closed).toBe(true);
      expect(revoked).toEqual([support.id]);
    } finally {
      stopListening();
    }

    const refused = await signIn("support@example.com", password);
    expect(refused.status).toBe(403);
    expect(refused.code).toBe("BANNED_USER");

    const enabled = await enableAccount(db, actorFor(admin), { userId: support.id });
    expect(enabled.disabled).toBe(false);
    expect((await signIn("support@example.com", password)).status).toBe(200);

    const [disableIntent] = await auditRows("user.disable");
    expect(disableIntent?.params).toEqual({
      email: "support@example.com",
      before: { status: "active" },
      after: { status: "disabled" },
    });
    const [enableIntent] = await auditRows("user.enable");
    expect(enableIntent?.params).toEqual({
      email: "support@example.com",
      before: { status: "disabled" },
      after: { status: "active" },
    });
  });

  it("rejects disabling oneself", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    await makeUser("admin2@example.com", "admin");

    const error = await errorOf(disableAccount(db, actorFor(admin), { userId: admin.id }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("your own account");
  });

  it("rejects disabling the last active admin", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const script: AccountActor = { actor: { system: "test" }, userId: null };

    const error = await errorOf(disableAccount(db, script, { userId: admin.id }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("last active admin");
  });

  it("reports an unknown account", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const error = await errorOf(disableAccount(db, actorFor(admin), { userId: "no-such-id" }));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain("no-such-id");
  });
});

describe("resetPassword", () => {
  it("replaces the password and signs the user out", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const support = await makeUser("support@example.com", "support");
    const { headers } = await signIn("support@example.com", password);

    const { account, password: oneTime } = await resetPassword(db, actorFor(admin), { userId: support.id });

    expect(account.mustChangePassword).toBe(true);
    expect(await getUserFromHeaders(headers, authFor(db))).toBeNull();
    expect((await signIn("support@example.com", password)).status).toBe(401);
    expect((await signIn("support@example.com", oneTime)).status).toBe(200);

    const rows = await auditRows("user.reset_password");
    expect(rows.map((row) => row.result)).toEqual(["pending", "success"]);
    expect(JSON.stringify(rows)).not.toContain(oneTime);
  });

  it("rejects resetting one's own password", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const error = await errorOf(resetPassword(db, actorFor(admin), { userId: admin.id }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("Account page");
  });
});

describe("signOutEverywhere", () => {
  it("deletes every session of the user", async () => {
    const admin = await makeUser("admin@example.com", "admin");
    const auditor = await makeUser("aud@example.com", "auditor");
    const first = await signIn("aud@example.com", password);
    const second = await signIn("aud@example.com", password);
    expect(await sessionCount(auditor.id)).toBe(2);

    const account = await signOutEverywhere(db, actorFor(admin), { userId: auditor.id });

    expect(account.activeSessions).toBe(0);
    expect(await getUserFromHeaders(first.headers, authFor(db))).toBeNull();
    expect(await getUserFromHeaders(second.headers, authFor(db))).toBeNull();
    expect((await auditRows("user.sessions.revoke"))[0]?.params).toEqual({ email: "aud@example.com" });
  });
});

describe("listAccounts", () => {
  it("shows status, methods, sessions and last sign-in", async () => {
    await makeUser("admin@example.com", "admin");
    await makeUser("aud@example.com", "auditor");
    await signIn("aud@example.com", password);

    const accounts = await listAccounts(db);
    const auditor = accounts.find((account) => account.email === "aud@example.com");

    expect(accounts.map((account) => account.email)).toEqual(["admin@example.com", "aud@example.com"]);
    expect(auditor?.activeSessions).toBe(1);
    expect(auditor?.signInMethods).toEqual(["password"]);
    expect(auditor?.disabled).toBe(false);
    expect(auditor?.lastSignInAt).not.toBeNull();
    const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(auditEvents).where(eq(auditEvents.action, "auth.sign_in"));
    expect(count?.n).toBe(1);
  });
});
