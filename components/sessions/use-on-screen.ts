"use client";

import { useEffect, useState, type RefObject } from "react";

/**
 * Returns whether `element` is within `rootMargin` of the viewport. It turns
 * true at once but false only after `leaveDelayMs`, so a quick scroll past
 * does not close and reopen a tile's connection.
 */
export function useOnScreen(
  element: RefObject<HTMLElement | null>,
  { rootMargin = "200px", leaveDelayMs = 1_500 } = {},
): boolean {
  const [onScreen, setOnScreen] = useState(false);

  useEffect(() => {
    const target = element.current;
    if (!target) return;

    let leaveTimer: ReturnType<typeof setTimeout> | undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        const visible = entries.some((entry) => entry.isIntersecting);
        clearTimeout(leaveTimer);
        if (visible) setOnScreen(true);
        else leaveTimer = setTimeout(() => setOnScreen(false), leaveDelayMs);
      },
      { rootMargin },
    );
    observer.observe(target);

    return () => {
      clearTimeout(leaveTimer);
      observer.disconnect();
    };
  }, [element, rootMargin, leaveDelayMs]);

  return onScreen;
}
