import { NextResponse } from "next/server";
import { consoleBaseUrl } from "@/lib/auth/auth";
import { changeOwnPassword } from "@/lib/auth/password";
import {
  getUserFromHeaders,
  sourceAddressFromHeaders,
} from "@/lib/auth/request-user";
import { getDb } from "@/lib/db/client";
import { ConsoleError } from "@/lib/errors";
import { errorResponse } from "@/lib/http";

export const dynamic = "force-dynamic";

/**
 * Changes the signed-in user's password, body {currentPassword,
 * newPassword, confirmPassword}, and signs out their other sessions. The
 * response sets the new session cookie of this browser. Any signed-in user
 * may change their own password, whatever their role.
 *
 * A route handler and not a server action: after an action that sets
 * cookies, Next.js renders the page again with the request's old session
 * cookie, which was just revoked, and that render sends the user to /login.
 */
export async function POST(request: Request): Promise<Response> {
  try {
    assertSameOrigin(request);
    const user = await getUserFromHeaders(request.headers);
    if (!user) {
      throw new ConsoleError(
        "unauthenticated",
        "Your session has ended. Sign in again, then change your password.",
      );
    }

    await changeOwnPassword(getDb(), {
      user,
      headers: request.headers,
      sourceAddress: sourceAddressFromHeaders(request.headers),
      input: await readJson(request),
    });
    return NextResponse.json({ ok: true });
  } catch (error) {
    return errorResponse(error);
  }
}

/** Rejects a browser request sent from another site's page. */
function assertSameOrigin(request: Request): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;

  const allowed = [
    new URL(request.url).origin,
    new URL(consoleBaseUrl()).origin,
  ];
  if (!allowed.includes(origin)) {
    throw new ConsoleError(
      "forbidden",
      `Requests from ${origin} cannot change passwords. Use the console at ${consoleBaseUrl()}.`,
    );
  }
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new ConsoleError(
      "invalid_input",
      'The request body is not valid JSON. Send {"currentPassword", "newPassword", "confirmPassword"}.',
    );
  }
}
