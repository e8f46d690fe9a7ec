// Makes the whole screen of the bench's browser sandbox change on every
// animation frame, for the continuous-updates measurement of
// bench/vnc-relay.ts. Playwright connects to the sandbox's Chromium over the
// DevTools protocol and puts a full-screen canvas on the demo page.
//
// What the canvas draws is meant to be honest for throughput. Xvnc compares
// the screen with its previous copy block by block and sends only the
// blocks that changed, so every part of the screen changes in every frame.
// A quarter of it is random pixels, which no encoder compresses much:
// - A diagonal gradient through nine hues, all shifted by 4 degrees a frame.
//   Its colours change by about one level a pixel, so no 16x16 block is one
//   colour and Xvnc's search for solid areas finds nothing to send as a fill.
// - Random pixels in every fourth 90x90 block, in a diagonal pattern that
//   moves by one block each frame, each block cut from a random place in a
//   512x512 picture of noise.

import { chromium, type Browser, type Page } from "@playwright/test";

/** Chromium's DevTools endpoint and the page on which the animation runs. */
export interface AnimationTarget {
  devtoolsUrl: string;
  pageUrl: string;
  /**
   * How long to retry connecting, in ms, because a proxy device starts
   * listening a moment after it is added.
   */
  connectTimeoutMs: number;
}

interface AnimationOptions {
  /** The page stops the animation by itself after this long, in ms. */
  maxDurationMs: number;
  blockSize: number;
  /** One block in this many, in a diagonal pattern, is noise. */
  noiseEvery: number;
  noiseSize: number;
}

interface AnimationHandle {
  stop(): void;
  frameTimes: number[];
}

type AnimatedWindow = Window & { benchAnimation?: AnimationHandle };

const OPTIONS: Omit<AnimationOptions, "maxDurationMs"> = {
  blockSize: 90,
  noiseEvery: 4,
  noiseSize: 512,
};

const CONNECT_RETRY_MS = 200;

/**
 * Starts the animation and returns the canvas size, which is the page's
 * viewport. The page ends the animation by itself after `maxDurationMs`,
 * also when the bench dies without cleaning up.
 */
export function startScreenAnimation(
  target: AnimationTarget,
  maxDurationMs: number,
): Promise<{ width: number; height: number }> {
  const options: AnimationOptions = { ...OPTIONS, maxDurationMs };
  return withPage(target, (page) =>
    page.evaluate<{ width: number; height: number }>(
      `${ANIMATION_PAGE_SCRIPT}(${JSON.stringify(options)})`,
    ),
  );
}

/**
 * Stops the animation, removes its canvas and returns the time of each
 * frame it drew, in wall-clock ms (Date.now()).
 */
export function stopScreenAnimation(
  target: AnimationTarget,
): Promise<number[]> {
  return withPage(target, (page) =>
    page.evaluate(() => {
      const animation = (window as AnimatedWindow).benchAnimation;
      if (!animation) {
        throw new Error(
          "No bench animation on the page: it was not started, or the page was reloaded",
        );
      }
      animation.stop();
      delete (window as AnimatedWindow).benchAnimation;
      return animation.frameTimes;
    }),
  );
}

/**
 * Connects Playwright to the sandbox's Chromium, runs `run` with the page,
 * and disconnects, so no DevTools traffic runs while the bench measures.
 */
async function withPage<T>(
  target: AnimationTarget,
  run: (page: Page) => Promise<T>,
): Promise<T> {
  const browser = await connectWithRetry(
    target.devtoolsUrl,
    target.connectTimeoutMs,
  );
  try {
    const page = browser
      .contexts()
      .flatMap((context) => context.pages())
      .find((candidate) => candidate.url() === target.pageUrl);
    if (!page) {
      throw new Error(`No page at ${target.pageUrl} in the sandbox's Chromium`);
    }
    return await run(page);
  } finally {
    // For a browser reached over CDP, close() disconnects and leaves
    // Chromium running.
    await browser.close();
  }
}

async function connectWithRetry(
  url: string,
  timeoutMs: number,
): Promise<Browser> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await chromium.connectOverCDP(url, { timeout: timeoutMs });
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `Could not connect to Chromium's DevTools endpoint at ${url} within ${timeoutMs / 1000} s`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}

// The script that runs in the page: a function of AnimationOptions that
// adds the full-screen canvas, draws on it at each animation frame, sets
// `window.benchAnimation` and returns the canvas size. It is a string of
// plain JavaScript, because tsx's compiled functions call a helper of
// their own that does not exist in the page.
const ANIMATION_PAGE_SCRIPT = `
(({ maxDurationMs, blockSize, noiseEvery, noiseSize }) => {
  const width = window.innerWidth;
  const height = window.innerHeight;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.style.cssText = "position: fixed; inset: 0; z-index: 2147483647";
  document.body.append(canvas);
  const context = canvas.getContext("2d", { alpha: false });

  const noise = document.createElement("canvas");
  noise.width = noiseSize;
  noise.height = noiseSize;
  const noiseContext = noise.getContext("2d");
  const pixels = noiseContext.createImageData(noiseSize, noiseSize);
  // getRandomValues fills at most 65,536 bytes a call.
  for (let offset = 0; offset < pixels.data.length; offset += 65536) {
    crypto.getRandomValues(pixels.data.subarray(offset, offset + 65536));
  }
  for (let alpha = 3; alpha < pixels.data.length; alpha += 4) {
    pixels.data[alpha] = 255;
  }
  noiseContext.putImageData(pixels, 0, 0);

  const frameTimes = [];
  let frame = 0;
  let request = 0;
  const draw = () => {
    frame += 1;
    frameTimes.push(Date.now());

    const gradient = context.createLinearGradient(0, 0, width, height);
    for (let stop = 0; stop <= 8; stop += 1) {
      const hue = (frame * 4 + stop * 70) % 360;
      gradient.addColorStop(stop / 8, "hsl(" + hue + " 80% 55%)");
    }
    context.fillStyle = gradient;
    context.fillRect(0, 0, width, height);

    for (let row = 0; row * blockSize < height; row += 1) {
      for (let column = 0; column * blockSize < width; column += 1) {
        if ((row + column + frame) % noiseEvery !== 0) continue;
        const sourceX = Math.floor(Math.random() * (noiseSize - blockSize));
        const sourceY = Math.floor(Math.random() * (noiseSize - blockSize));
        context.drawImage(
          noise, sourceX, sourceY, blockSize, blockSize,
          column * blockSize, row * blockSize, blockSize, blockSize,
        );
      }
    }
    request = requestAnimationFrame(draw);
  };

  let deadline = 0;
  const stop = () => {
    cancelAnimationFrame(request);
    clearTimeout(deadline);
    canvas.remove();
  };
  deadline = setTimeout(stop, maxDurationMs);
  window.benchAnimation = { stop, frameTimes };
  request = requestAnimationFrame(draw);
  return { width, height };
})
`;
