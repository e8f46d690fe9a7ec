import { NextResponse } from "next/server";
import { ConsoleError, userMessage } from "@/lib/errors";
import { log } from "@/lib/log";
import { LxdError } from "@/lib/lxd";

/** The body every API error response has. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/**
 * Turns a thrown value into a JSON error response. Unknown errors are logged
 * and answered with a generic message, so internals never reach the browser.
 */
export function errorResponse(error: unknown): NextResponse<ApiErrorBody> {
  if (error instanceof ConsoleError) {
    return NextResponse.json(
      { error: { code: error.code, message: error.message } },
      { status: error.status },
    );
  }

  if (error instanceof LxdError) {
    const code = error.status === 404 ? "not_found" : "lxd_error";
    return NextResponse.json(
      { error: { code, message: `LXD: ${error.message}` } },
      { status: error.status === 404 ? 404 : 502 },
    );
  }

  log.error({ err: error }, "unhandled error in a route handler");
  return NextResponse.json(
    { error: { code: "internal", message: userMessage(error) } },
    { status: 500 },
  );
}
