import "server-only";
import { headers } from "next/headers";
import { forbidden, redirect } from "next/navigation";
import { cache } from "react";
import { ConsoleError } from "@/lib/errors";
import type { ConsoleUser, Permission } from "./permissions";
import { REQUEST_PATH_HEADER, safeNextPath } from "./redirect";
import {
  authorize,
  getUserFromHeaders,
  sourceAddressFromHeaders,
} from "./request-user";

export { getUserFromHeaders } from "./request-user";

/**
 * Returns the signed-in user of the current request, or null. Cached per
 * request, so a layout and its page share one session lookup.
 */
export const getCurrentUser = cache(async (): Promise<ConsoleUser | null> => {
  return getUserFromHeaders(await headers());
});

/** Returns the current request's client address, for audit rows. */
export async function getSourceAddress(): Promise<string | null> {
  return sourceAddressFromHeaders(await headers());
}

/**
 * Returns the signed-in user if their role grants `permission`, for server
 * actions and route handlers. Throws ConsoleError "unauthenticated" or
 * "forbidden" (the latter also writes a "refused" audit row).
 */
export async function requireUser(
  permission: Permission,
): Promise<ConsoleUser> {
  return authorize(
    await getCurrentUser(),
    permission,
    await getSourceAddress(),
  );
}

/**
 * Returns the signed-in user for the console's layout, which also wraps the
 * account page: unlike requirePageUser it lets a user who must change their
 * password through, and each page then checks its own permission.
 */
export async function requireLayoutUser(): Promise<ConsoleUser> {
  const user = await getCurrentUser();
  if (user?.mustChangePassword) return user;
  return requirePageUser("instance:read");
}

/**
 * Like requireUser, for pages: a signed-out visitor is redirected to
 * /login?next=<this page>, so they come back after signing in, and a user
 * who must change their password is redirected to /account.
 */
export async function requirePageUser(
  permission: Permission,
): Promise<ConsoleUser> {
  const user = await getCurrentUser();

  if (!user) {
    const requestHeaders = await headers();
    const next = safeNextPath(requestHeaders.get(REQUEST_PATH_HEADER));
    redirect(`/login?next=${encodeURIComponent(next)}`);
  }

  // A user whose password an admin set gets only the account page, where
  // they choose their own.
  if (user.mustChangePassword) redirect("/account");

  try {
    return await authorize(user, permission, await getSourceAddress());
  } catch (error) {
    // Production builds hide a thrown error's message, so a refused page
    // gets the forbidden page (status 403) that names the role instead.
    if (error instanceof ConsoleError && error.code === "forbidden") forbidden();
    throw error;
  }
}
