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
  audit_unavailable: 503,
  timeout: 504,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

const consoleErrorBrand = Symbol.for("sandbox-console.ConsoleError");

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

/** Message to show for any thrown value: unknown errors get a generic text. */
export function userMessage(error: unknown): string {
  if (error instanceof ConsoleError) return error.message;
  return "Internal error; the server log has the details.";
}
