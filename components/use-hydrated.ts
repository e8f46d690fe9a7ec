"use client";

import { useSyncExternalStore } from "react";

const subscribeToNothing = () => () => {};

/**
 * Returns false on the server and during hydration, true after. A button
 * that opens a dialog stays disabled until then, because a click before
 * hydration has no handler and is lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribeToNothing,
    () => true,
    () => false,
  );
}
