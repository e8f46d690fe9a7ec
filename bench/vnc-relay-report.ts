// Prints the figures of bench/vnc-relay.ts: both paths side by side, each
// round's figures, and the bridge against the targets.

import os from "node:os";

import type {
  EncodingSet,
  FrameSamples,
  PathSamples,
  RelayClientInput,
  RelayClientResult,
} from "./vnc-relay-client";

/** Options of the request-response measurements that the report shows. */
export type ReportOptions = Pick<
  RelayClientInput,
  "rounds" | "latencySamples" | "frames" | "connections" | "encodingSets"
>;

// Targets for the bridge against the direct path.
const TARGET_ADDED_P50_MS = 1;
export const TARGET_THROUGHPUT_RATIO = 0.8;

const ENCODING_SET_LABELS: Record<EncodingSet, string> = {
  raw: "raw",
  novnc: "noVNC's encodings",
};

// Names of the encodings that Xvnc may send in reply to noVNC's list.
export const ENCODING_NAMES: Record<number, string> = {
  0: "raw",
  1: "CopyRect",
  2: "RRE",
  6: "Zlib",
  7: "Tight",
  16: "ZRLE",
  50: "H.264",
  [-260]: "TightPNG",
  [-223]: "DesktopSize",
  [-224]: "LastRect",
  [-239]: "Cursor",
  [-258]: "QEMUExtendedKeyEvent",
  [-261]: "QEMULedState",
  [-307]: "DesktopName",
  [-308]: "ExtendedDesktopSize",
  [-316]: "ExtendedMouseButtons",
  [0x574d5664]: "VMwareCursor",
};

export function report(
  result: RelayClientResult,
  options: ReportOptions,
): void {
  console.log("");
  console.log(
    `${options.rounds} rounds; per path and round: ` +
      `${options.latencySamples} round trips, ${options.frames} full ` +
      `frames per encoding set, ${options.connections} new connections; ` +
      `load average ${loadAverage()}`,
  );
  printFigures(result, options.encodingSets);
  printRounds(result, options);
  printTargets(result, options.encodingSets);
}

function printFigures(
  { direct, bridge, screen }: RelayClientResult,
  encodingSets: EncodingSet[],
): void {
  const row = (label: string, pick: (samples: PathSamples) => string) =>
    console.log(
      label.padEnd(48) + pick(direct).padStart(12) + pick(bridge).padStart(12),
    );
  const megabytes = (bytesPerSecond: number) =>
    (bytesPerSecond / 1e6).toFixed(1);

  console.log("".padEnd(48) + "direct".padStart(12) + "bridge".padStart(12));
  row("1x1 update round trip p50 (ms)", (s) => ms(summarize(s.latencyMs).p50));
  row("1x1 update round trip p99 (ms)", (s) => ms(summarize(s.latencyMs).p99));
  row("1x1 update round trip mean (ms)", (s) =>
    ms(summarize(s.latencyMs).mean),
  );
  for (const set of encodingSets) {
    const frames = (samples: PathSamples) => samples.frames[set]!;
    const label = `full frame, ${ENCODING_SET_LABELS[set]}`;
    row(`${label}: bytes per frame, median`, (s) =>
      summarize(frames(s).frameBytes).p50.toFixed(0),
    );
    row(`${label}: screen area in the frame, min (%)`, (s) =>
      (
        (Math.min(...frames(s).pixelArea) / (screen.width * screen.height)) *
        100
      ).toFixed(0),
    );
    row(`${label}: frames/s, median`, (s) =>
      throughputOf(frames(s)).medianFramesPerSecond.toFixed(1),
    );
    row(`${label}: frames/s, all frames together`, (s) =>
      throughputOf(frames(s)).pooledFramesPerSecond.toFixed(1),
    );
    row(`${label}: MB/s, median`, (s) =>
      megabytes(throughputOf(frames(s)).medianBytesPerSecond),
    );
    row(`${label}: MB/s, all frames together`, (s) =>
      megabytes(throughputOf(frames(s)).pooledBytesPerSecond),
    );
    row(`${label}: LXD CPU per frame (ms)`, (s) =>
      summarize(frames(s).lxdCpuMsPerFrame).p50.toFixed(2),
    );
    row(`${label}: bench CPU per frame (ms)`, (s) =>
      summarize(frames(s).processCpuMsPerFrame).p50.toFixed(2),
    );
  }
  row("connect to ServerInit p50 (ms)", (s) => ms(summarize(s.connectMs).p50));

  for (const set of encodingSets) {
    console.log(
      `rectangles per frame, ${ENCODING_SET_LABELS[set]} (direct / bridge): ` +
        `${describeRectangles(direct.frames[set]!)} / ` +
        `${describeRectangles(bridge.frames[set]!)}`,
    );
  }
}

/** Describes the average rectangle count per frame by encoding, such as "Tight 41.0". */
function describeRectangles(samples: FrameSamples): string {
  const frames = samples.frameMs.length;
  return Object.entries(samples.rectangles)
    .map(
      ([encoding, count]) =>
        `${ENCODING_NAMES[Number(encoding)] ?? encoding} ${(count / frames).toFixed(1)}`,
    )
    .join(", ");
}

/** Prints each round's figures, which show how much the machine's load varied. */
function printRounds(
  { direct, bridge }: RelayClientResult,
  options: ReportOptions,
): void {
  const roundOf = <T>(samples: T[], perRound: number, round: number) =>
    samples.slice(round * perRound, (round + 1) * perRound);

  console.log("");
  console.log(
    "per round, direct / bridge: round trip p50 (ms)" +
      options.encodingSets
        .map((set) => `, ${ENCODING_SET_LABELS[set]} frames/s`)
        .join(""),
  );
  for (let round = 0; round < options.rounds; round += 1) {
    const latency = (samples: PathSamples) =>
      ms(
        summarize(roundOf(samples.latencyMs, options.latencySamples, round))
          .p50,
      );
    const framesPerSecond = (samples: PathSamples, set: EncodingSet) => {
      const frames = samples.frames[set]!;
      return throughputOf({
        ...frames,
        frameMs: roundOf(frames.frameMs, options.frames, round),
        frameBytes: roundOf(frames.frameBytes, options.frames, round),
      }).medianFramesPerSecond.toFixed(1);
    };
    console.log(
      `  round ${round + 1}: ${latency(direct)} / ${latency(bridge)}` +
        options.encodingSets
          .map(
            (set) =>
              `   ${framesPerSecond(direct, set)} / ${framesPerSecond(bridge, set)}`,
          )
          .join(""),
    );
  }
}

function printTargets(
  { direct, bridge }: RelayClientResult,
  encodingSets: EncodingSet[],
): void {
  const addedP50 =
    summarize(bridge.latencyMs).p50 - summarize(direct.latencyMs).p50;

  console.log("");
  console.log(
    `bridge adds ${ms(addedP50)} ms at p50 ` +
      `(target under ${TARGET_ADDED_P50_MS} ms): ` +
      (addedP50 < TARGET_ADDED_P50_MS ? "met" : "MISSED"),
  );
  for (const set of encodingSets) {
    const ratio =
      throughputOf(bridge.frames[set]!).medianFramesPerSecond /
      throughputOf(direct.frames[set]!).medianFramesPerSecond;
    console.log(
      `bridge/direct full frames per second, ${ENCODING_SET_LABELS[set]}: ` +
        `${(ratio * 100).toFixed(0)}% ` +
        `(target at least ${TARGET_THROUGHPUT_RATIO * 100}%): ` +
        (ratio >= TARGET_THROUGHPUT_RATIO ? "met" : "MISSED"),
    );
  }
}

export function summarize(samples: number[]): {
  p50: number;
  p99: number;
  mean: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ??
    NaN;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), mean };
}

/**
 * Returns frames and bytes per second: medians over single frames, and
 * totals over the time of all frames together.
 */
function throughputOf(samples: FrameSamples): {
  medianFramesPerSecond: number;
  pooledFramesPerSecond: number;
  medianBytesPerSecond: number;
  pooledBytesPerSecond: number;
} {
  const seconds = samples.frameMs.map((elapsed) => elapsed / 1000);
  const totalSeconds = seconds.reduce((sum, value) => sum + value, 0);
  const totalBytes = samples.frameBytes.reduce((sum, value) => sum + value, 0);
  return {
    medianFramesPerSecond: summarize(seconds.map((value) => 1 / value)).p50,
    pooledFramesPerSecond: seconds.length / totalSeconds,
    medianBytesPerSecond: summarize(
      seconds.map((value, index) => samples.frameBytes[index]! / value),
    ).p50,
    pooledBytesPerSecond: totalBytes / totalSeconds,
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(", ");
}

function ms(value: number): string {
  return value.toFixed(3);
}
