// Prints the continuous-updates figures of bench/vnc-relay.ts: both paths
// side by side, each round's figures, and the bridge against the target.

import type { TightCompression } from "./rfb-client";
import type {
  ContinuousResult,
  ContinuousWindow,
} from "./vnc-relay-continuous";
import type { RelayPath } from "./vnc-relay-paths";
import {
  ENCODING_NAMES,
  TARGET_THROUGHPUT_RATIO,
  loadAverage,
  summarize,
} from "./vnc-relay-report";

/** Totals of one path over all its windows. */
interface PathTotals {
  seconds: number;
  updates: number;
  bytes: number;
  pixelArea: number;
  fences: number;
  chunks: number;
  /** Frames the page drew during the windows. */
  pageFrames: number;
}

export function reportContinuous({
  result,
  frameTimes,
}: {
  result: ContinuousResult;
  frameTimes: number[];
}): void {
  const windowSeconds = (result.direct[0]?.durationMs ?? 0) / 1000;
  console.log("");
  console.log(
    `continuous updates, noVNC's encodings, the whole screen animated: ` +
      `${result.direct.length} rounds of ${windowSeconds.toFixed(1)} s per ` +
      `path; load average ${loadAverage()}`,
  );
  printContinuousFigures(result, frameTimes);
  printContinuousRounds(result, frameTimes);
  printContinuousTargets(result);
}

function printContinuousFigures(
  result: ContinuousResult,
  frameTimes: number[],
): void {
  const screenArea = result.screen.width * result.screen.height;
  const totals = {
    direct: totalsOf(result.direct, frameTimes),
    bridge: totalsOf(result.bridge, frameTimes),
  };
  const row = (label: string, pick: (path: RelayPath) => string) =>
    console.log(
      label.padEnd(48) +
        pick("direct").padStart(12) +
        pick("bridge").padStart(12),
    );
  const allUpdates = (
    path: RelayPath,
    pick: (w: ContinuousWindow) => number[],
  ) => result[path].flatMap(pick);
  const screensIn = (window: ContinuousWindow) =>
    sumOf(window.updatePixelArea) / screenArea;
  const cpuPerScreen = (
    path: RelayPath,
    pick: (w: ContinuousWindow) => number,
  ) =>
    summarize(
      result[path].map((window) => pick(window) / screensIn(window)),
    ).p50.toFixed(2);

  console.log("".padEnd(48) + "direct".padStart(12) + "bridge".padStart(12));
  row("frames the page drew per second", (path) =>
    (totals[path].pageFrames / totals[path].seconds).toFixed(1),
  );
  row("screens per second, all windows together", (path) =>
    (totals[path].pixelArea / screenArea / totals[path].seconds).toFixed(1),
  );
  row("screens per second, median of rounds", (path) =>
    summarize(
      result[path].map((window) => screensPerSecond(window, screenArea)),
    ).p50.toFixed(1),
  );
  row("updates per second, all windows together", (path) =>
    (totals[path].updates / totals[path].seconds).toFixed(1),
  );
  row("screen area per update, median (%)", (path) =>
    (
      (summarize(allUpdates(path, (w) => w.updatePixelArea)).p50 / screenArea) *
      100
    ).toFixed(0),
  );
  row("bytes per screen", (path) =>
    (totals[path].bytes / (totals[path].pixelArea / screenArea)).toFixed(0),
  );
  row("bytes per update, median", (path) =>
    summarize(allUpdates(path, (w) => w.updateBytes)).p50.toFixed(0),
  );
  row("MB/s, all windows together", (path) =>
    (totals[path].bytes / totals[path].seconds / 1e6).toFixed(1),
  );
  row("MB/s, median of rounds", (path) =>
    summarize(result[path].map(megabytesPerSecond)).p50.toFixed(1),
  );
  row("fence replies sent per second", (path) =>
    (totals[path].fences / totals[path].seconds).toFixed(1),
  );
  row("bytes per chunk received, mean", (path) =>
    (totals[path].bytes / totals[path].chunks).toFixed(0),
  );
  row("machine CPU busy, median of rounds (%)", (path) =>
    (
      summarize(result[path].map((window) => window.machineBusyShare)).p50 * 100
    ).toFixed(0),
  );
  row("LXD CPU per screen, median of rounds (ms)", (path) =>
    cpuPerScreen(path, (w) => w.lxdCpuMs),
  );
  row("bench CPU per screen, median of rounds (ms)", (path) =>
    cpuPerScreen(path, (w) => w.processCpuMs),
  );
  row("  of which the main thread (the bridge) (ms)", (path) =>
    cpuPerScreen(path, (w) => w.mainThreadCpuMs),
  );
  row("sandbox CPU per screen, median of rounds (ms)", (path) =>
    cpuPerScreen(path, (w) => w.sandboxCpuMs),
  );

  console.log(
    `rectangles per update (direct / bridge): ` +
      `${describeRectangles(result.direct)} / ${describeRectangles(result.bridge)}`,
  );
}

/**
 * Describes the average rectangles per update by encoding and by Tight
 * compression.
 */
function describeRectangles(windows: ContinuousWindow[]): string {
  const updates = windows.reduce((sum, w) => sum + w.updateBytes.length, 0);
  const encodings: Record<number, number> = {};
  const tight: Record<TightCompression, number> = {
    fill: 0,
    jpeg: 0,
    png: 0,
    basic: 0,
  };
  for (const window of windows) {
    for (const [encoding, count] of Object.entries(window.rectangles)) {
      encodings[Number(encoding)] = (encodings[Number(encoding)] ?? 0) + count;
    }
    for (const [compression, count] of Object.entries(window.tightRectangles)) {
      tight[compression as TightCompression] += count;
    }
  }
  const perUpdate = (count: number) => (count / updates).toFixed(1);
  const byEncoding = Object.entries(encodings).map(
    ([encoding, count]) =>
      `${ENCODING_NAMES[Number(encoding)] ?? encoding} ${perUpdate(count)}`,
  );
  const byCompression = Object.entries(tight)
    .filter(([, count]) => count > 0)
    .map(([compression, count]) => `${compression} ${perUpdate(count)}`);
  return `${byEncoding.join(", ")} (Tight: ${byCompression.join(", ")})`;
}

/** Prints each round's screens per second and the page's frames per second. */
function printContinuousRounds(
  result: ContinuousResult,
  frameTimes: number[],
): void {
  const screenArea = result.screen.width * result.screen.height;
  console.log("");
  console.log(
    "per round, direct / bridge: screens per second, frames the page drew per second",
  );
  for (let round = 0; round < result.direct.length; round += 1) {
    const direct = result.direct[round]!;
    const bridge = result.bridge[round]!;
    console.log(
      `  round ${round + 1}: ` +
        `${screensPerSecond(direct, screenArea).toFixed(1)} / ` +
        `${screensPerSecond(bridge, screenArea).toFixed(1)}   ` +
        `${pageFramesPerSecond(direct, frameTimes).toFixed(1)} / ` +
        `${pageFramesPerSecond(bridge, frameTimes).toFixed(1)}`,
    );
  }
}

function printContinuousTargets(result: ContinuousResult): void {
  const direct = totalsOf(result.direct, []);
  const bridge = totalsOf(result.bridge, []);
  const ratios = {
    "screens per second":
      bridge.pixelArea / bridge.seconds / (direct.pixelArea / direct.seconds),
    "MB/s": bridge.bytes / bridge.seconds / (direct.bytes / direct.seconds),
  };

  console.log("");
  for (const [label, ratio] of Object.entries(ratios)) {
    console.log(
      `bridge/direct continuous updates, ${label}, all windows together: ` +
        `${(ratio * 100).toFixed(0)}% ` +
        `(target at least ${TARGET_THROUGHPUT_RATIO * 100}%): ` +
        (ratio >= TARGET_THROUGHPUT_RATIO ? "met" : "MISSED"),
    );
  }
}

function totalsOf(
  windows: ContinuousWindow[],
  frameTimes: number[],
): PathTotals {
  const totals: PathTotals = {
    seconds: 0,
    updates: 0,
    bytes: 0,
    pixelArea: 0,
    fences: 0,
    chunks: 0,
    pageFrames: 0,
  };
  for (const window of windows) {
    totals.seconds += window.durationMs / 1000;
    totals.updates += window.updateBytes.length;
    totals.bytes += window.bytes;
    totals.pixelArea += sumOf(window.updatePixelArea);
    totals.fences += window.fences;
    totals.chunks += window.chunks;
    totals.pageFrames += pageFramesIn(window, frameTimes);
  }
  return totals;
}

function screensPerSecond(
  window: ContinuousWindow,
  screenArea: number,
): number {
  return (
    sumOf(window.updatePixelArea) / screenArea / (window.durationMs / 1000)
  );
}

function sumOf(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0);
}

function megabytesPerSecond(window: ContinuousWindow): number {
  return window.bytes / (window.durationMs / 1000) / 1e6;
}

/** Counts the frames the page drew within the window, by wall-clock time. */
function pageFramesIn(window: ContinuousWindow, frameTimes: number[]): number {
  return frameTimes.filter(
    (time) => time >= window.startedAt && time < window.endedAt,
  ).length;
}

function pageFramesPerSecond(
  window: ContinuousWindow,
  frameTimes: number[],
): number {
  return (
    pageFramesIn(window, frameTimes) /
    ((window.endedAt - window.startedAt) / 1000)
  );
}
