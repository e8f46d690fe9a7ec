// The measuring script that the sessions wall bench adds to every page. It
// runs in the browser, so it is a string of plain JavaScript.

/** The probe object that the script sets as `window.wallProbe`. */
export interface WallPageProbe {
  wallProbe: {
    /**
     * Returns, once at least `count` tiles have painted a frame, each tile's
     * time from navigation start to its first painted frame in ms; else null.
     */
    tileFrames(count: number): number[] | null;
    /** Whether the full view's canvas has painted a frame. */
    viewerHasFrame(): boolean;
    startSteady(): void;
    stopSteady(): {
      longTasks: number;
      longTaskMs: number;
      maxLongTaskMs: number;
      framesPerSecond: number;
      maxFrameGapMs: number;
    };
    /**
     * Returns the longest Event Timing entry of a click since the last call
     * (or the page load), in ms, and clears the entries.
     */
    takeClickEventMs(): number;
  };
}

// A canvas has painted once one of a few sampled pixels is opaque: noVNC's
// canvas starts transparent, and the page behind it is dark.
export const WALL_PAGE_SCRIPT = `
(() => {
  const longTasks = [];
  const clickEvents = [];
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: "longtask", buffered: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.name === "click" || entry.name === "pointerup") clickEvents.push(entry.duration);
      }
    }).observe({ type: "event", durationThreshold: 16, buffered: true });
  } catch {}

  const firstFrame = new WeakMap();
  function painted(canvas) {
    if (!canvas || canvas.width < 100) return false;
    const context = canvas.getContext("2d");
    if (!context) return false;
    for (const fx of [0.25, 0.5, 0.75]) {
      for (const fy of [0.25, 0.5, 0.75]) {
        const pixel = context.getImageData(Math.floor(canvas.width * fx), Math.floor(canvas.height * fy), 1, 1).data;
        if (pixel[3] > 0) return true;
      }
    }
    return false;
  }

  let steady = null;
  window.wallProbe = {
    tileFrames(count) {
      const times = [];
      for (const tile of document.querySelectorAll('[data-testid^="session-tile-"]')) {
        const canvas = tile.querySelector('[data-testid="vnc-screen"] canvas');
        if (!canvas) continue;
        if (!firstFrame.has(canvas) && painted(canvas)) firstFrame.set(canvas, performance.now());
        if (firstFrame.has(canvas)) times.push(Math.round(firstFrame.get(canvas)));
      }
      return times.length >= count ? times : null;
    },
    viewerHasFrame() {
      return painted(document.querySelector('[data-testid="vnc-viewer"] [data-testid="vnc-screen"] canvas'));
    },
    startSteady() {
      steady = { start: performance.now(), frames: 0, last: performance.now(), maxGap: 0, running: true };
      const tick = (now) => {
        if (!steady || !steady.running) return;
        steady.frames += 1;
        steady.maxGap = Math.max(steady.maxGap, now - steady.last);
        steady.last = now;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    },
    stopSteady() {
      const end = performance.now();
      steady.running = false;
      const inWindow = longTasks.filter(([start]) => start >= steady.start && start <= end);
      const durations = inWindow.map(([, duration]) => duration);
      return {
        longTasks: inWindow.length,
        longTaskMs: durations.reduce((sum, value) => sum + value, 0),
        maxLongTaskMs: durations.length ? Math.max(...durations) : 0,
        framesPerSecond: steady.frames / ((end - steady.start) / 1000),
        maxFrameGapMs: steady.maxGap,
      };
    },
    takeClickEventMs() {
      const longest = clickEvents.length ? Math.max(...clickEvents) : 0;
      clickEvents.length = 0;
      return longest;
    },
  };
})();
`;
