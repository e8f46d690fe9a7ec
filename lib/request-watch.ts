import type { IncomingMessage, ServerResponse } from "node:http";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

import type { Logger } from "pino";

/** A request whose headers are not sent after this long is logged. */
export const STALLED_REQUEST_MS = 15_000;

/** A request whose headers are sent later than this is logged when it closes. */
export const SLOW_REQUEST_MS = 5_000;

/** An event loop delay over this, within one sampling interval, is logged. */
export const LOOP_DELAY_WARN_MS = 1_000;

const LOOP_SAMPLE_INTERVAL_MS = 10_000;

/**
 * Logs requests that get no response for a long time, and those whose
 * response started late. An event stream sends its headers at once and then
 * stays open, so only the wait for the headers counts.
 *
 * A stalled page request looks like a dead console to the user. Without this
 * log it leaves no trace, so the warning names its path and the wait.
 */
export function watchRequest(
  request: IncomingMessage,
  response: ServerResponse,
  logger: Logger,
  options: { stalledMs?: number; slowMs?: number; now?: () => number } = {},
): void {
  const now = options.now ?? Date.now;
  const stalledMs = options.stalledMs ?? STALLED_REQUEST_MS;
  const slowMs = options.slowMs ?? SLOW_REQUEST_MS;
  const startedAt = now();
  const describe = () => ({ method: request.method, path: request.url?.split("?")[0] });
  const answered = () => response.headersSent || response.writableEnded;
  let late = false;

  const slowTimer = setTimeout(() => {
    late = !answered();
  }, slowMs);
  const stallTimer = setTimeout(() => {
    if (answered()) return;
    logger.warn({ ...describe(), waitedMs: now() - startedAt }, "request has no response yet");
  }, stalledMs);
  slowTimer.unref();
  stallTimer.unref();

  response.once("close", () => {
    clearTimeout(slowTimer);
    clearTimeout(stallTimer);
    if (!late) return;
    logger.warn(
      { ...describe(), status: response.statusCode, tookMs: now() - startedAt, finished: response.writableFinished },
      "slow request",
    );
  });
}

/**
 * Samples the event loop's delay and logs the worst of each interval over
 * LOOP_DELAY_WARN_MS, because a blocked loop stalls every request at once.
 * Returns a function that stops the sampling.
 */
export function watchEventLoop(logger: Logger): () => void {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 50 });
  histogram.enable();
  const timer = setInterval(() => {
    const worstMs = histogram.max / 1e6;
    if (worstMs > LOOP_DELAY_WARN_MS) {
      logger.warn(
        { worstMs: Math.round(worstMs), meanMs: Math.round(histogram.mean / 1e6) },
        "event loop was blocked",
      );
    }
    histogram.reset();
  }, LOOP_SAMPLE_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    histogram.disable();
  };
}
