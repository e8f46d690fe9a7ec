import { randomBytes, randomUUID } from "node:crypto";

import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";

import { runAudited, type AuditActor } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import {
  account as accountTable,
  session as sessionTable,
  user as userTable,
} from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { parseInput } from "@/lib/validation";

import { authFor } from "./auth";
import { closeLiveConnections } from "./live-connections";
import { isGrantable, roles, type ConsoleUser, type Role } from "./permissions";

// Account management for admins: the accounts page's server actions and
// scripts/grant-session-control.ts call these functions. Each change is one
// transaction under an advisory lock, so two admins acting at once cannot
// both pass the last-admin check, and each is wrapped in audit intent and
// outcome rows. Passwords never reach the audit log or the logs.

// Arbitrary key for pg_advisory_xact_lock. It only has to differ from the
// other advisory lock keys of the console.
const ACCOUNTS_LOCK_KEY = 0x5a_acc7;

/** The Better Auth provider id of email and password accounts. */
const PASSWORD_PROVIDER_ID = "credential";

/** The author of a change: a signed-in admin, or a script. */
export interface AccountActor {
  actor: AuditActor;
  /** The acting console user's id, for the checks on one's own account. */
  userId: string | null;
  sourceAddress?: string | null;
}

/** One account as the accounts page lists it. */
export interface AccountSummary {
  id: string;
  email: string;
  name: string;
  role: Role;
  sessionControl: boolean;
  disabled: boolean;
  mustChangePassword: boolean;
  /** Sign-in methods: "password", or the OpenID Connect provider id. */
  signInMethods: string[];
  lastSignInAt: string | null;
  createdAt: string;
  activeSessions: number;
}

/** The result of a change that sets a password, shown once to the admin. */
export interface OneTimePassword {
  account: AccountSummary;
  password: string;
}

const userIdInput = z.object({
  userId: z.string().trim().min(1).max(200),
});

export const createAccountInput = z.object({
  email: z
    .email()
    .max(320)
    .transform((email) => email.toLowerCase()),
  name: z.string().trim().min(1).max(200),
  role: z.enum(roles),
});

export const changeRoleInput = userIdInput.extend({ role: z.enum(roles) });

export const sessionControlInput = userIdInput.extend({
  granted: z.boolean(),
});

export { userIdInput };

type UserRow = typeof userTable.$inferSelect;

function actorOf(by: AccountActor) {
  return { actor: by.actor, sourceAddress: by.sourceAddress ?? null };
}

/** Makes a random one-time password: 18 bytes as base64url, 24 characters. */
function generateOneTimePassword(): string {
  return randomBytes(18).toString("base64url");
}

/** Lists every account, oldest first, with its sign-in methods and sessions. */
export async function listAccounts(db: Db): Promise<AccountSummary[]> {
  const users = await db.select().from(userTable).orderBy(asc(userTable.createdAt));
  return summarize(db, users);
}

/** Returns one account's summary, or throws ConsoleError "not_found". */
export async function getAccount(db: Db, userId: string): Promise<AccountSummary> {
  const [found] = await db.select().from(userTable).where(eq(userTable.id, userId));
  if (!found) throw notFound(userId);

  const [summary] = await summarize(db, [found]);
  return summary!;
}

async function summarize(db: Db, users: UserRow[]): Promise<AccountSummary[]> {
  if (users.length === 0) return [];
  const ids = users.map((row) => row.id);

  const accounts = await db
    .select({ userId: accountTable.userId, providerId: accountTable.providerId })
    .from(accountTable)
    .where(inArray(accountTable.userId, ids));
  const sessions = await db
    .select({ userId: sessionTable.userId, count: sql<number>`count(*)::int` })
    .from(sessionTable)
    .where(and(inArray(sessionTable.userId, ids), sql`${sessionTable.expiresAt} > now()`))
    .groupBy(sessionTable.userId);

  const methods = new Map<string, string[]>();
  for (const row of accounts) {
    const method = row.providerId === PASSWORD_PROVIDER_ID ? "password" : row.providerId;
    methods.set(row.userId, [...(methods.get(row.userId) ?? []), method].sort());
  }
  const sessionCounts = new Map(sessions.map((row) => [row.userId, Number(row.count)]));

  return users.map((row) => ({
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    sessionControl: row.sessionControl,
    disabled: row.banned === true,
    mustChangePassword: row.mustChangePassword,
    signInMethods: methods.get(row.id) ?? [],
    lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    activeSessions: sessionCounts.get(row.id) ?? 0,
  }));
}

function notFound(userId: string): ConsoleError {
  return new ConsoleError(
    "not_found",
    `No account with the id ${userId}. It may have been removed; reload the accounts page.`,
  );
}

/**
 * Runs `fn` in a transaction that holds the accounts lock, with the target
 * user's row read under that lock.
 */
async function withLockedUser<T>(
  db: Db,
  userId: string,
  fn: (tx: Db, target: UserRow) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ACCOUNTS_LOCK_KEY})`);

    const [target] = await tx.select().from(userTable).where(eq(userTable.id, userId));
    if (!target) throw notFound(userId);
    return fn(tx, target);
  });
}

/** Reads the target's row outside the lock, for the audit intent row. */
async function readUser(db: Db, userId: string): Promise<UserRow> {
  const [found] = await db.select().from(userTable).where(eq(userTable.id, userId));
  if (!found) throw notFound(userId);
  return found;
}

/**
 * Throws ConsoleError "conflict" when taking away `target`'s admin role or
 * disabling them would leave no active admin, or when `by` would do it to
 * themselves.
 */
async function assertAdminRemains(
  tx: Db,
  by: AccountActor,
  target: UserRow,
  change: "demote" | "disable",
): Promise<void> {
  const verb = change === "demote" ? "change the role of" : "disable";

  if (by.userId === target.id) {
    throw new ConsoleError(
      "conflict",
      `You cannot ${verb} your own account (${target.email}), so that no admin ` +
        "locks themselves out. Ask another admin to do it.",
    );
  }
  if (target.role !== "admin" || target.banned === true) return;

  const [others] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(userTable)
    .where(
      and(
        eq(userTable.role, "admin"),
        ne(userTable.id, target.id),
        sql`coalesce(${userTable.banned}, false) = false`,
      ),
    );
  if (Number(others?.count ?? 0) === 0) {
    throw new ConsoleError(
      "conflict",
      `${target.email} is the last active admin, so you cannot ${verb} this ` +
        "account: nobody could manage accounts afterwards. Make another account " +
        "an admin first.",
    );
  }
}

async function deleteSessions(tx: Db, userId: string): Promise<number> {
  const deleted = await tx
    .delete(sessionTable)
    .where(eq(sessionTable.userId, userId))
    .returning({ id: sessionTable.id });
  return deleted.length;
}

async function hashPassword(db: Db, password: string): Promise<string> {
  const context = await authFor(db).$context;
  return context.password.hash(password);
}

/**
 * Creates an account with a one-time password that the user must change at
 * their first sign-in, and returns the password once. Throws ConsoleError
 * "invalid_input" for a bad email, name or role and "conflict" when the
 * email is taken.
 */
export async function createAccount(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<OneTimePassword> {
  const { email, name, role } = parseInput(createAccountInput, input);
  const password = generateOneTimePassword();
  const passwordHash = await hashPassword(db, password);
  const userId = randomUUID();

  await runAudited(
    db,
    { ...actorOf(by), action: "user.create", params: { email, name, role } },
    () =>
      db.transaction(async (tx) => {
        const [taken] = await tx
          .select({ id: userTable.id })
          .from(userTable)
          .where(eq(userTable.email, email));
        if (taken) {
          throw new ConsoleError(
            "conflict",
            `An account with the email ${email} already exists. Find it in the list, or use another email.`,
          );
        }

        await tx.insert(userTable).values({
          id: userId,
          email,
          name,
          role,
          mustChangePassword: true,
        });
        await tx.insert(accountTable).values({
          id: randomUUID(),
          userId,
          accountId: userId,
          providerId: PASSWORD_PROVIDER_ID,
          password: passwordHash,
        });
      }),
  );
  return { account: await getAccount(db, userId), password };
}

/**
 * Changes an account's role. Moving a support user to another role drops
 * their session control grant, and their open views are closed so that no
 * control outlives the change. Rejects a change to one's own role and the
 * demotion of the last active admin.
 */
export async function changeRole(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<AccountSummary> {
  const { userId, role } = parseInput(changeRoleInput, input);
  const before = await readUser(db, userId);
  const keepsGrant = before.sessionControl && isGrantable(role, "session:control");

  await runAudited(
    db,
    {
      ...actorOf(by),
      action: "user.role.change",
      params: {
        email: before.email,
        before: { role: before.role, sessionControl: before.sessionControl },
        after: { role, sessionControl: keepsGrant },
      },
    },
    () =>
      withLockedUser(db, userId, async (tx, target) => {
        if (by.userId === target.id) {
          throw new ConsoleError(
            "conflict",
            "You cannot change the role of your own account. Ask another admin to do it.",
          );
        }
        if (target.role === role) {
          throw new ConsoleError(
            "conflict",
            `${target.email} already has the role ${role}. Choose a different role.`,
          );
        }
        if (target.role === "admin") await assertAdminRemains(tx, by, target, "demote");

        await tx
          .update(userTable)
          .set({
            role,
            sessionControl: target.sessionControl && isGrantable(role, "session:control"),
          })
          .where(eq(userTable.id, userId));
      }),
  );

  closeLiveConnectionsIfLower(before.role, role, userId);
  return getAccount(db, userId);
}

const roleRank: Record<Role, number> = { auditor: 0, support: 1, admin: 2 };

// Pages and actions read the role again on every request, but an open VNC
// view keeps the input rights it was given, so a lower role closes it.
function closeLiveConnectionsIfLower(before: Role, after: Role, userId: string) {
  if (roleRank[after] < roleRank[before]) closeLiveConnections(userId);
}

/**
 * Grants or revokes a support user's session control. Revoking closes the
 * user's open views, so a control they hold ends at once. Throws
 * ConsoleError "invalid_input" for a user whose role cannot hold the grant.
 */
export async function setSessionControl(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<AccountSummary> {
  const { userId, granted } = parseInput(sessionControlInput, input);
  const before = await readUser(db, userId);

  await runAudited(
    db,
    {
      ...actorOf(by),
      action: granted ? "user.grant.session_control" : "user.revoke.session_control",
      params: {
        email: before.email,
        before: { sessionControl: before.sessionControl },
        after: { sessionControl: granted },
      },
    },
    () =>
      withLockedUser(db, userId, async (tx, target) => {
        if (!isGrantable(target.role, "session:control")) {
          throw sessionControlRoleError(target.email, target.role);
        }
        await tx
          .update(userTable)
          .set({ sessionControl: granted })
          .where(eq(userTable.id, userId));
      }),
  );

  if (!granted) closeLiveConnections(userId);
  return getAccount(db, userId);
}

/** Returns the error for a session control grant to a role that cannot hold it. */
export function sessionControlRoleError(email: string, role: Role): ConsoleError {
  return new ConsoleError(
    "invalid_input",
    `${email} has the role ${role}, which cannot hold a session control grant; ` +
      "only support users can. Admins control sessions by role, auditors never.",
  );
}

/** Returns the id of the account with `email`, or throws "not_found". */
export async function findAccountIdByEmail(db: Db, email: string): Promise<string> {
  const [found] = await db
    .select({ id: userTable.id })
    .from(userTable)
    .where(eq(userTable.email, email.trim().toLowerCase()));
  if (!found) throw new ConsoleError("not_found", `No account with the email ${email}.`);
  return found.id;
}

/**
 * Disables an account: the user cannot sign in, every session is deleted
 * and open views and event streams are closed at once. Rejects disabling
 * oneself and the last active admin.
 */
export async function disableAccount(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<AccountSummary> {
  const { userId } = parseInput(userIdInput, input);
  await setStatus(db, by, userId, "disabled");

  closeLiveConnections(userId);
  return getAccount(db, userId);
}

/** Enables a disabled account again; the user can sign in once more. */
export async function enableAccount(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<AccountSummary> {
  const { userId } = parseInput(userIdInput, input);
  await setStatus(db, by, userId, "active");
  return getAccount(db, userId);
}

type AccountStatus = "active" | "disabled";

/** Sets the admin plugin's banned flag, which makes Better Auth reject sign-in. */
async function setStatus(db: Db, by: AccountActor, userId: string, status: AccountStatus) {
  const before = await readUser(db, userId);
  const statusOf = (row: UserRow): AccountStatus => (row.banned === true ? "disabled" : "active");
  const reason = `Disabled by ${"email" in by.actor ? by.actor.email : "a script"}`;

  await runAudited(
    db,
    {
      ...actorOf(by),
      action: status === "disabled" ? "user.disable" : "user.enable",
      params: { email: before.email, before: { status: statusOf(before) }, after: { status } },
    },
    () =>
      withLockedUser(db, userId, async (tx, target) => {
        if (statusOf(target) === status) {
          throw new ConsoleError("conflict", `${target.email} is already ${status}.`);
        }
        if (status === "active") {
          await tx
            .update(userTable)
            .set({ banned: false, banReason: null, banExpires: null })
            .where(eq(userTable.id, userId));
          return;
        }

        await assertAdminRemains(tx, by, target, "disable");
        await tx
          .update(userTable)
          .set({ banned: true, banReason: reason, banExpires: null })
          .where(eq(userTable.id, userId));
        await deleteSessions(tx, userId);
      }),
  );
}

/**
 * Sets a new one-time password, which the user must change at their next
 * sign-in, signs the user out everywhere and returns the password once.
 * Accounts without a password (OpenID Connect only) are rejected.
 */
export async function resetPassword(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<OneTimePassword> {
  const { userId } = parseInput(userIdInput, input);
  const before = await readUser(db, userId);
  const password = generateOneTimePassword();
  const passwordHash = await hashPassword(db, password);

  await runAudited(
    db,
    {
      ...actorOf(by),
      action: "user.reset_password",
      params: { email: before.email, signOutEverywhere: true, mustChangePassword: true },
    },
    () =>
      withLockedUser(db, userId, async (tx, target) => {
        if (by.userId === target.id) {
          throw new ConsoleError(
            "conflict",
            "Change your own password on the Account page, which asks for the current one.",
          );
        }
        const updated = await tx
          .update(accountTable)
          .set({ password: passwordHash })
          .where(
            and(
              eq(accountTable.userId, userId),
              eq(accountTable.providerId, PASSWORD_PROVIDER_ID),
            ),
          )
          .returning({ id: accountTable.id });
        if (updated.length === 0) {
          throw new ConsoleError(
            "conflict",
            `${target.email} signs in with OpenID Connect and has no password to reset. ` +
              "Manage their access at the identity provider.",
          );
        }

        await tx
          .update(userTable)
          .set({ mustChangePassword: true })
          .where(eq(userTable.id, userId));
        return deleteSessions(tx, userId);
      }),
  );

  closeLiveConnections(userId);
  return { account: await getAccount(db, userId), password };
}

/** Deletes every session of a user and closes their open views and streams. */
export async function signOutEverywhere(
  db: Db,
  by: AccountActor,
  input: unknown,
): Promise<AccountSummary> {
  const { userId } = parseInput(userIdInput, input);
  const before = await readUser(db, userId);

  await runAudited(
    db,
    { ...actorOf(by), action: "user.sessions.revoke", params: { email: before.email } },
    () => withLockedUser(db, userId, (tx) => deleteSessions(tx, userId)),
  );

  closeLiveConnections(userId);
  return getAccount(db, userId);
}

/** Returns the author of a change made by the signed-in admin `user`. */
export function consoleActor(user: ConsoleUser, sourceAddress: string | null): AccountActor {
  return { actor: { id: user.id, email: user.email }, userId: user.id, sourceAddress };
}
