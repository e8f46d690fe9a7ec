/**
 * Limits how many connections are being set up at the same time. A caller
 * takes a slot before it opens its socket and releases it once the
 * handshake has finished or failed, so a page with many viewers shows its
 * first screens early instead of starting every handshake at once.
 */
export class ConnectionSlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Connection slot limit ${limit} is not a whole number of at least 1`);
    }
  }

  /** Slots taken and not yet released. */
  get inUse(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free, in the order of
   * the calls. An aborted wait rejects with the signal's reason and takes
   * no slot. Calling the release function more than once has no effect.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);

    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.active += 1;
        resolve(this.releaser());
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason as Error);
      };

      if (this.active < this.limit) {
        grant();
        return;
      }
      this.waiting.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.waiting.shift()?.();
    };
  }
}
