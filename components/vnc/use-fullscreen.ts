"use client";

import { useSyncExternalStore, type RefObject } from "react";

function subscribeToFullscreen(onChange: () => void): () => void {
  document.addEventListener("fullscreenchange", onChange);
  return () => document.removeEventListener("fullscreenchange", onChange);
}

/**
 * Tracks whether `element` is the document's full-screen element and
 * toggles it with the Fullscreen API. `supported` is false where the
 * browser or an embedding page does not allow full screen.
 */
export function useFullscreen(element: RefObject<HTMLElement | null>) {
  const active = useSyncExternalStore(
    subscribeToFullscreen,
    () => element.current !== null && document.fullscreenElement === element.current,
    () => false,
  );
  const supported = useSyncExternalStore(
    subscribeToFullscreen,
    () => document.fullscreenEnabled,
    () => false,
  );

  const toggle = async () => {
    if (document.fullscreenElement === element.current) {
      await document.exitFullscreen();
    } else {
      await element.current?.requestFullscreen();
    }
  };

  return { active, supported, toggle };
}
