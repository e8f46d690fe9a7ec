"use client";

import { useEffect, useState } from "react";

/**
 * Returns the current time in ms, refreshed every `intervalMs` while
 * `active` is true, for countdowns and uptimes.
 */
export function useNow(intervalMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, active]);

  return now;
}
