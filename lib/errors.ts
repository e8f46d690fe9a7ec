/**
 * Error codes the console reports to users, each with the HTTP status that a
 * route handler answers with.
 */
export const errorStatus = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  host_unreachable: 502,
  lxd_error: 502,
  /** The connection to LXD broke after a change was sent, so it may or may not have happened. */
  outcome_unknown: 502,
  audit_unavailable: 503,
  database_not_migrated: 503,
  /** The console is stopping and takes no new work. */
  shutting_down: 503,
  timeout: 504,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

const consoleErrorBrand = Symbol.for("sandbox-console.ConsoleError");

/** Global brand of LxdError (lib/lxd/errors.ts), shared so this module needs no LXD import. */
export const lxdErrorBrand = Symbol.for("sandbox-console.LxdError");

/** Returns whether `value` is an object carrying the global symbol `brand`. */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/** An error whose message is safe to show to the user as it is. */
export class ConsoleError extends Error {
  /**
   * Next.js may load this module once per route bundle while clients and
   * watchers are shared on globalThis, so `instanceof` checks a global brand
   * instead of the prototype chain.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, consoleErrorBrand);
  }

  readonly [consoleErrorBrand] = true;
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConsoleError";
    this.code = code;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

/**
 * Message to show for any thrown value. A ConsoleError's message is shown as
 * it is, an LXD error as LXD's own text without the request path, and any
 * other error as a generic text, so internals never reach the browser.
 */
export function userMessage(error: unknown): string {
  if (error instanceof ConsoleError) return error.message;
  if (hasBrand(error, lxdErrorBrand)) {
    return describeLxdMessage((error as { lxdMessage: string }).lxdMessage);
  }
  return "Internal error. The server log has the details.";
}

/** Words LXD's error text as a sentence for users. */
export function describeLxdMessage(lxdMessage: string): string {
  const text = lxdMessage.trim();
  const sentence = /[.!?]$/.test(text) ? text : `${text}.`;
  return `LXD returned an error: ${sentence}`;
}
