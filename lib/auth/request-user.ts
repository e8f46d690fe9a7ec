import { recordAuditEvent } from "@/lib/audit/audit";
import { getDb, type Db } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { log } from "@/lib/log";
import { getAuth, type Auth } from "./auth";
import {
  isRole,
  permissionDescriptions,
  type ConsoleUser,
  type Permission,
  userCan,
} from "./permissions";

// Session checks that work on plain request headers. Unlike session.ts this
// module does not import next/headers or "server-only", so the custom
// server's WebSocket upgrade and scripts can use it.

/**
 * Returns the user whose session cookie is in `headers`, or null when there
 * is no valid session. A user whose stored role is not a console role is
 * treated as signed out.
 */
export async function getUserFromHeaders(
  headers: Headers,
  auth: Auth = getAuth(),
): Promise<ConsoleUser | null> {
  let result: Awaited<ReturnType<Auth["api"]["getSession"]>>;
  try {
    result = await auth.api.getSession({ headers });
  } catch (error) {
    // Sessions live in the database, so without it nobody can be signed in.
    log.error({ err: error }, "session lookup failed");
    throw new ConsoleError(
      "audit_unavailable",
      "The console's database is not reachable, so sessions cannot be checked. " +
        "Check that the database at DATABASE_URL (or the PGlite data folder) is available.",
      { cause: error },
    );
  }
  if (!result) return null;

  const { user } = result;
  // Disabling an account deletes its sessions; this covers a session made
  // between that delete and the commit of the disabled flag.
  if (user.banned === true) {
    log.warn({ userId: user.id }, "session of a disabled user; treating as signed out");
    return null;
  }
  if (!isRole(user.role)) {
    log.warn(
      { userId: user.id, role: user.role },
      "session user has an unknown role; treating as signed out",
    );
    return null;
  }

  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    grants: user.sessionControl === true ? ["session:control"] : [],
    mustChangePassword: user.mustChangePassword === true,
  };
}

/**
 * Returns the client address for audit rows: the X-Forwarded-For header, which Next
 * sets to the socket's peer address when a request arrives without one.
 * NOTE: a client that sends its own X-Forwarded-For is believed unless a
 * reverse proxy in front of the console overwrites the header.
 */
export function sourceAddressFromHeaders(headers: Headers): string | null {
  const forwarded = headers.get("x-forwarded-for")?.trim();
  return forwarded ? forwarded.slice(0, 200) : null;
}

/**
 * Returns `user` if its role grants `permission`. Otherwise writes a
 * "refused" audit row (to `db`, default getDb()) and throws
 * ConsoleError("forbidden"). A null user throws
 * ConsoleError("unauthenticated"), and a user who must change their
 * password throws ConsoleError("forbidden") without an audit row.
 */
export async function authorize(
  user: ConsoleUser | null,
  permission: Permission,
  sourceAddress: string | null,
  db?: Db,
): Promise<ConsoleUser> {
  if (!user) {
    throw new ConsoleError(
      "unauthenticated",
      "You are not signed in, or your session has expired. Sign in again.",
    );
  }
  if (user.mustChangePassword) {
    throw new ConsoleError(
      "forbidden",
      "An admin set your password, so choose your own first: open Account " +
        "(/account) and change it, then try again.",
    );
  }
  if (userCan(user, permission)) return user;

  await recordRefusal(db ?? getDb(), user, permission, sourceAddress);
  throw new ConsoleError(
    "forbidden",
    `Your role (${user.role}) does not allow ${permissionDescriptions[permission]}. ` +
      "Ask an admin to change your role if you need this.",
  );
}

async function recordRefusal(
  db: Db,
  user: ConsoleUser,
  permission: Permission,
  sourceAddress: string | null,
): Promise<void> {
  try {
    await recordAuditEvent(db, {
      actor: { id: user.id, email: user.email },
      sourceAddress,
      action: "auth.permission_check",
      params: { permission, role: user.role },
      result: "refused",
    });
  } catch (error) {
    // The request is refused either way, so a lost refusal row is logged
    // rather than turned into a different error.
    log.error(
      { err: error, userId: user.id, permission },
      "audit write for a refused request failed",
    );
  }
}
