// Backoff of the browser's VNC viewer between reconnect attempts. Kept free of
// DOM and React so the policy can be tested on its own.

export const RECONNECT_INITIAL_DELAY_MS = 1_000;
export const RECONNECT_MAX_DELAY_MS = 30_000;

/** A connection that stays up this long resets the backoff. */
export const STABLE_CONNECTION_MS = 10_000;

/**
 * Returns the wait before reconnect attempt `failures` (1 for the first
 * retry): 1 s, doubling each time, at most 30 s.
 */
export function reconnectDelay(failures: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^5 s already exceeds the maximum, so larger exponents need no math.
  if (exponent >= 5) return RECONNECT_MAX_DELAY_MS;
  return Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_INITIAL_DELAY_MS * 2 ** exponent);
}

/**
 * Counts the drops of one viewer's connection. The count starts again when a
 * connection was stable, so a sandbox that restarts once a day reconnects
 * after 1 s rather than after the maximum.
 */
export class ReconnectBackoff {
  private failures = 0;
  private connectedAt: number | null = null;

  /** Records that the VNC handshake completed at `now` (ms). */
  connected(now: number): void {
    this.connectedAt = now;
  }

  /** Records a lost or refused connection and returns the delay in ms. */
  dropped(now: number): number {
    if (this.connectedAt !== null && now - this.connectedAt >= STABLE_CONNECTION_MS) {
      this.failures = 0;
    }
    this.connectedAt = null;
    this.failures += 1;
    return reconnectDelay(this.failures);
  }
}
