import { getSessionCookie } from "better-auth/cookies";
import { NextResponse, type NextRequest } from "next/server";
import { REQUEST_PATH_HEADER } from "@/lib/auth/redirect";

/**
 * Sends page requests without a session cookie to /login. This is only a
 * shortcut for signed-out visitors: the cookie is not verified here, and each
 * page, action and route checks the session and role itself.
 */
export function proxy(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  const path = `${pathname}${search}`;

  if (pathname === "/login" || pathname.startsWith("/login/")) {
    return NextResponse.next();
  }

  if (!getSessionCookie(request)) {
    const login = new URL("/login", request.url);
    login.searchParams.set("next", path);
    return NextResponse.redirect(login);
  }

  // Pages read this header to build /login?next=... when the session turns
  // out to be invalid or expired.
  const headers = new Headers(request.headers);
  headers.set(REQUEST_PATH_HEADER, path);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Pages only: API routes return 401 themselves, and Next's assets and the
  // favicon need no session.
  matcher: ["/((?!api/|_next/|favicon\\.svg).*)"],
};
