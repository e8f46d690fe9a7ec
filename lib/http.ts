import { NextResponse } from "next/server";
import { ConsoleError, userMessage } from "@/lib/errors";
import { log } from "@/lib/log";
import { LxdError, toConsoleError } from "@/lib/lxd";

/** The body every API error response has. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/**
 * Turns a thrown value into a JSON error response. LXD errors keep LXD's
 * message but not the request path, which goes to the log. Unknown errors
 * are logged and get a generic message, so internals never reach the
 * browser.
 */
export function errorResponse(error: unknown): NextResponse<ApiErrorBody> {
  if (error instanceof LxdError) {
    // The serialized error carries the request's method and path.
    log.warn({ err: error }, "LXD error in a route handler");
    return errorJson(toConsoleError(error));
  }
  if (error instanceof ConsoleError) return errorJson(error);

  log.error({ err: error }, "unhandled error in a route handler");
  return NextResponse.json(
    { error: { code: "internal", message: userMessage(error) } },
    { status: 500 },
  );
}

/** Returns a JSON response with a ConsoleError's code, message and HTTP status. */
export function errorJson(error: ConsoleError): NextResponse<ApiErrorBody> {
  return NextResponse.json(
    { error: { code: error.code, message: error.message } },
    { status: error.status },
  );
}
