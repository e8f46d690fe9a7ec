import {
  ConsoleError,
  describeLxdMessage,
  hasBrand,
  lxdErrorBrand,
  type ErrorCode,
} from "@/lib/errors";

/**
 * An error reported by LXD itself: an error response, or a failed or
 * cancelled operation. The message is LXD's own text. The request's method
 * and path are fields, so logs carry them but messages shown to users do not.
 */
export class LxdError extends Error {
  /**
   * Next.js may load this module once per route bundle while LXD clients are
   * shared on globalThis, so a plain prototype check would miss errors made
   * by another copy of the class. The brand is global.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, lxdErrorBrand);
  }

  readonly [lxdErrorBrand] = true;

  /**
   * HTTP status of the error response (404, 412, ...). For a failed
   * operation it is the operation's status code: 400 Failure or 401
   * Cancelled.
   */
  readonly status: number;
  /** LXD's error text, the same as `message`. */
  readonly lxdMessage: string;
  readonly method: string;
  /** Request path without the query string. */
  readonly path: string;
  /** Set when the error is the outcome of an operation. */
  readonly operationId: string | null;

  constructor(options: {
    status: number;
    lxdMessage: string;
    method: string;
    path: string;
    operationId?: string | null;
  }) {
    super(options.lxdMessage);
    this.name = "LxdError";
    this.status = options.status;
    this.lxdMessage = options.lxdMessage;
    this.method = options.method;
    this.path = options.path;
    this.operationId = options.operationId ?? null;
  }
}

/**
 * Converts an LXD error into the console's error type, keeping LXD's message
 * so the user sees what LXD reported, without the request path. A 403 from
 * LXD means the console's own certificate is not trusted, so it is an LXD
 * error and not the user's missing permission.
 */
export function toConsoleError(error: LxdError): ConsoleError {
  return new ConsoleError(
    consoleErrorCode(error),
    describeLxdMessage(error.lxdMessage),
    { cause: error },
  );
}

function consoleErrorCode(error: LxdError): ErrorCode {
  if (error.status === 404) return "not_found";
  if (error.status === 409 || error.status === 412) return "conflict";
  // A failed operation also carries 400, but there the request was valid.
  if (error.status === 400 && error.operationId === null) {
    return "invalid_input";
  }
  return "lxd_error";
}
