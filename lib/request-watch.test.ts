import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";

import { watchRequest } from "./request-watch";

interface Line {
  msg: string;
  path?: string;
  status?: number;
  waitedMs?: number;
  tookMs?: number;
}

function recordingLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: "warn" }, { write: (text: string) => lines.push(JSON.parse(text) as Line) });
  return { logger, lines };
}

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("watchRequest", () => {
  it("logs a request whose headers are not sent in time, with its path", async () => {
    const { logger, lines } = recordingLogger();
    const base = await serve((request, response) => {
      watchRequest(request, response, logger, { stalledMs: 50, slowMs: 10_000 });
      setTimeout(() => response.end("late"), 200);
    });

    expect(await (await fetch(`${base}/login?next=%2F`)).text()).toBe("late");

    const stalled = lines.filter((line) => line.msg === "request has no response yet");
    expect(stalled).toHaveLength(1);
    expect(stalled[0]?.path).toBe("/login");
    expect(stalled[0]?.waitedMs).toBeGreaterThanOrEqual(50);
  });

  it("logs a slow finished request with its status, and not a quick one", async () => {
    const { logger, lines } = recordingLogger();
    const base = await serve((request, response) => {
      watchRequest(request, response, logger, { stalledMs: 10_000, slowMs: 100 });
      const delay = request.url === "/slow" ? 150 : 0;
      setTimeout(() => {
        response.statusCode = 307;
        response.end();
      }, delay);
    });

    await fetch(`${base}/quick`, { redirect: "manual" });
    await fetch(`${base}/slow`, { redirect: "manual" });
    await sleep(20);

    expect(lines.map((line) => [line.msg, line.path, line.status])).toEqual([["slow request", "/slow", 307]]);
    expect(lines[0]?.tookMs).toBeGreaterThanOrEqual(100);
  });

  it("does not count an open event stream as stalled or slow", async () => {
    const { logger, lines } = recordingLogger();
    const base = await serve((request, response) => {
      watchRequest(request, response, logger, { stalledMs: 30, slowMs: 30 });
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: 1\n\n");
      setTimeout(() => response.end(), 120);
    });

    const body = await (await fetch(`${base}/api/events`)).text();
    await sleep(20);

    expect(body).toBe("data: 1\n\n");
    expect(lines).toEqual([]);
  });
});
