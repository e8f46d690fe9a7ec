import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { betterAuth, type BetterAuthOptions } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError, createAuthMiddleware, getIP } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { admin } from "better-auth/plugins/admin";
import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements } from "better-auth/plugins/admin/access";
import { eq } from "drizzle-orm";
import { recordAuditEvent } from "@/lib/audit/audit";
import { dataDir, getDb, type Db } from "@/lib/db/client";
import { authSchema, user as userTable } from "@/lib/db/schema";
import { log } from "@/lib/log";
import { oidcPlugin, takePendingRole, validateOidcUser } from "./oidc";
import { OIDC_DISABLED_ERROR, OIDC_NO_ROLE_ERROR } from "./oidc-errors";
import { readOidcConfig, type OidcConfig } from "./oidc-config";

export const SESSION_EXPIRES_IN_SECONDS = 12 * 60 * 60;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

const authLog = log.child({ component: "auth" });

// Roles for Better Auth's admin plugin. Only admins get its user-management
// statements, and no role may impersonate, because actions taken while
// impersonating would be audited under the wrong person.
const accessControl = createAccessControl(defaultStatements);
const adminPluginRoles = {
  admin: accessControl.newRole({
    user: [
      "create",
      "list",
      "set-role",
      "ban",
      "delete",
      "set-password",
      "get",
      "update",
    ],
    session: ["list", "revoke", "delete"],
  }),
  support: accessControl.newRole({ user: [], session: [] }),
  auditor: accessControl.newRole({ user: [], session: [] }),
};

// Endpoints that browsers may not call. User management and profile changes
// go through server actions, which check permissions and write audit rows.
// This list does not affect `auth.api.*` calls on the server.
const disabledPaths = [
  "/sign-up/email",
  "/update-user",
  "/change-password",
  "/change-email",
  "/delete-user",
  "/admin/set-role",
  "/admin/get-user",
  "/admin/create-user",
  "/admin/update-user",
  "/admin/list-users",
  "/admin/list-user-sessions",
  "/admin/unban-user",
  "/admin/ban-user",
  "/admin/impersonate-user",
  "/admin/stop-impersonating",
  "/admin/revoke-user-session",
  "/admin/revoke-user-sessions",
  "/admin/remove-user",
  "/admin/set-user-password",
  "/admin/has-permission",
];

/** Returns the console's base URL, from SANDBOX_CONSOLE_URL. */
export function consoleBaseUrl(): string {
  return process.env.SANDBOX_CONSOLE_URL ?? "http://127.0.0.1:3000";
}

/**
 * Returns BETTER_AUTH_SECRET, or else the secret stored in
 * `<dataDir>/auth-secret`, which is generated on first use with mode 0600.
 * Every console process that shares a database must use the same secret.
 */
export function loadAuthSecret(): string {
  const fromEnv = process.env.BETTER_AUTH_SECRET;
  if (fromEnv) return fromEnv;

  const file = path.join(dataDir(), "auth-secret");
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });

  try {
    // "wx" fails if the file exists, so two processes starting together
    // cannot both write a different secret.
    writeFileSync(file, randomBytes(32).toString("base64url"), {
      mode: 0o600,
      flag: "wx",
    });
    authLog.info({ file }, "generated a new auth secret");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }

  return readFileSync(file, "utf8").trim();
}

/**
 * Creates the Better Auth instance that stores users and sessions in `db`.
 * Throws ConsoleError "invalid_input" when the OIDC_ variables are invalid.
 */
export function createAuth(db: Db) {
  const oidc = readOidcConfig();

  return betterAuth({
    appName: "Sandbox Console",
    baseURL: consoleBaseUrl(),
    secret: loadAuthSecret(),
    database: drizzleAdapter(db, { provider: "pg", schema: authSchema }),
    user: {
      additionalFields: {
        // Set by admins only (input: false keeps it out of user updates).
        sessionControl: { type: "boolean", defaultValue: false, input: false },
        mustChangePassword: {
          type: "boolean",
          defaultValue: false,
          input: false,
        },
        lastSignInAt: { type: "date", required: false, input: false },
      },
      // Only OpenID Connect sign-ins are checked here; see lib/auth/oidc.ts.
      validateUserInfo: oidc ? validateOidcUser(db, oidc) : undefined,
    },
    databaseHooks: oidc ? oidcUserHooks(db) : undefined,
    emailAndPassword: {
      enabled: true,
      // Admins create accounts; the first admin comes from
      // scripts/create-admin.ts.
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: MAX_PASSWORD_LENGTH,
    },
    session: {
      expiresIn: SESSION_EXPIRES_IN_SECONDS,
      // Sliding expiry: a session used more than an hour after its last
      // refresh is extended to a full 12 hours again.
      updateAge: 60 * 60,
    },
    // On in every environment. Better Auth's default rule for /sign-in/* is
    // 3 requests per 10 seconds per client IP.
    // NOTE: the client IP comes from X-Forwarded-For. Without that header in
    // production, all clients share one bucket per path.
    rateLimit: { enabled: true },
    disabledPaths,
    telemetry: { enabled: false },
    logger: {
      log: (level, message, ...args) => {
        authLog[level]({ details: args }, message);
      },
    },
    hooks: { after: auditSignIn(db, oidc) },
    plugins: [
      admin({
        ac: accessControl,
        roles: adminPluginRoles,
        adminRoles: ["admin"],
        defaultRole: "auditor",
        bannedUserMessage:
          "This account is disabled. Ask a console admin to enable it again.",
      }),
      ...(oidc ? [oidcPlugin(oidc)] : []),
      // Must stay last: it copies Set-Cookie headers into Next's cookies()
      // when a server action calls auth.api.
      nextCookies(),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

/**
 * Sets the role of a new OpenID Connect user from their groups claim and
 * records the account's creation.
 */
function oidcUserHooks(db: Db): BetterAuthOptions["databaseHooks"] {
  return {
    user: {
      create: {
        before: (newUser) => {
          const pending = takePendingRole(newUser.email);
          if (!pending) return Promise.resolve();
          return Promise.resolve({ data: { ...newUser, role: pending.role } });
        },
        after: async (created) => {
          try {
            await recordAuditEvent(db, {
              actor: { system: "oidc" },
              action: "user.create",
              params: {
                email: created.email,
                name: created.name,
                role: (created as { role?: unknown }).role,
                method: "oidc",
              },
              result: "success",
            });
          } catch (error) {
            authLog.error(
              { err: error, userId: created.id },
              "audit write for an OpenID Connect account failed",
            );
          }
        },
      },
    },
  };
}

/** Writes an audit row for every sign-in attempt, successful or not. */
function auditSignIn(db: Db, oidc: OidcConfig | null) {
  return createAuthMiddleware(async (ctx) => {
    const isEmail = ctx.path === "/sign-in/email";
    const isOidc = oidc !== null && ctx.path === "/callback/:id";
    if (!isEmail && !isOidc) return;

    const session = ctx.context.newSession;
    const returned = ctx.context.returned;
    const request = ctx.request ?? ctx.headers;
    const sourceAddress = request ? getIP(request, ctx.context.options) : null;
    const method = isEmail ? "password" : "oidc";

    try {
      if (session) {
        await db
          .update(userTable)
          .set({ lastSignInAt: new Date() })
          .where(eq(userTable.id, session.user.id));
        await recordAuditEvent(db, {
          actor: { id: session.user.id, email: session.user.email },
          sourceAddress,
          action: "auth.sign_in",
          params: { method },
          result: "success",
        });
      } else if (isOidc) {
        const code = callbackErrorCode(returned);
        // Rejections by the role mapping were recorded with their reason.
        if (code && code !== OIDC_NO_ROLE_ERROR && code !== OIDC_DISABLED_ERROR) {
          await recordAuditEvent(db, {
            actor: { anonymous: true },
            sourceAddress,
            action: "auth.sign_in",
            params: { method },
            result: "failure",
            error: `The OpenID Connect callback failed with the error ${code}.`,
          });
        }
      } else if (returned instanceof APIError) {
        const email = attemptedEmail(ctx.body as unknown);
        await recordAuditEvent(db, {
          actor: { anonymous: true },
          sourceAddress,
          action: "auth.sign_in",
          params: { email },
          result: "failure",
          error: returned.message,
        });
      }
    } catch (error) {
      authLog.error({ err: error }, "audit write for sign-in failed");
    }
  });
}

/**
 * Returns the ?error= code of the redirect that a failed OpenID Connect
 * callback returns, or null when the callback did not fail.
 */
function callbackErrorCode(returned: unknown): string | null {
  if (!(returned instanceof APIError)) return null;

  const location = new Headers(returned.headers).get("location");
  if (!location) return returned.message || "unknown_error";
  return new URL(location, "http://console.invalid").searchParams.get("error");
}

/** Returns the email a failed sign-in tried, capped at 320 characters. */
function attemptedEmail(body: unknown): string {
  if (typeof body !== "object" || body === null || !("email" in body))
    return "";
  return typeof body.email === "string" ? body.email.slice(0, 320) : "";
}

// One instance per database. The process-wide database already lives on
// globalThis, so a dev reload only builds a new Auth object, not a new pool.
const authByDb = new WeakMap<Db, Auth>();

/** Returns the Better Auth instance for `db`, creating it on first use. */
export function authFor(db: Db): Auth {
  let auth = authByDb.get(db);
  if (!auth) {
    auth = createAuth(db);
    authByDb.set(db, auth);
  }
  return auth;
}

/** Returns the process-wide Better Auth instance on getDb(). */
export function getAuth(): Auth {
  return authFor(getDb());
}
