import { caught } from "@/test/harness/caught";
import { describe, expect, it, vi } from "vitest";

import { ConsoleError } from "@/lib/errors";

import type { LxdClient } from "./client";
import { LxdError } from "./errors";
import { loadResponse } from "./fixtures/load";
import { waitForOperation } from "./operations";
import type { LxdOperation } from "./types";

function recordedOperation(name: string): LxdOperation {
  return (loadResponse(name).body as { metadata: LxdOperation }).metadata;
}

function clientReturning(respond: () => Promise<unknown>): {
  client: LxdClient;
  requestSync: ReturnType<typeof vi.fn>;
} {
  const requestSync = vi.fn(respond);
  const client = {
    description: "fake LXD",
    requestSync,
  } as unknown as LxdClient;
  return { client, requestSync };
}


describe("waitForOperation", () => {
  it("returns a successful operation", async () => {
    const done = recordedOperation("operation-wait-success.json");
    const { client, requestSync } = clientReturning(async () => ({
      type: "sync",
      metadata: done,
      etag: null,
    }));

    const result = await waitForOperation(client, done.id, {
      timeoutMs: 5_000,
    });

    expect(result.status).toBe("Success");
    expect(requestSync).toHaveBeenCalledWith(
      "GET",
      `/1.0/operations/${done.id}/wait`,
      { query: { timeout: 5 }, timeoutMs: 15_000 },
    );
  });

  it("throws LxdError with the operation's error text", async () => {
    const failed = recordedOperation("operation-wait-failure.json");
    const { client } = clientReturning(async () => ({
      type: "sync",
      metadata: failed,
      etag: null,
    }));

    const error = await caught(
      waitForOperation(client, failed, { timeoutMs: 30_000 }),
    );

    expect(error).toBeInstanceOf(LxdError);
    const lxdError = error as LxdError;
    expect(lxdError.lxdMessage).toBe(failed.err);
    expect(lxdError.lxdMessage).toMatch(/^Failed to run: .*forkstart broken-1/);
    expect(lxdError.status).toBe(400);
    expect(lxdError.operationId).toBe(failed.id);
  });

  it("throws timeout for an operation still running (LXD 5.0)", async () => {
    const running = recordedOperation("operation-wait-timeout.json");
    const { client } = clientReturning(async () => ({
      type: "sync",
      metadata: running,
      etag: null,
    }));

    const error = await caught(
      waitForOperation(client, running, { timeoutMs: 1_000 }),
    );

    expect(running.status).toBe("Running");
    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("timeout");
    expect((error as ConsoleError).message).toContain(running.id);
    expect((error as ConsoleError).message).toContain("within 1 s");
  });

  it("throws timeout for a deadline error (later LXD)", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const { client } = clientReturning(async () => {
        vi.setSystemTime(2_000);
        throw new LxdError({
          status: 500,
          lxdMessage: "context deadline exceeded",
          method: "GET",
          path: "/1.0/operations/op-1/wait",
        });
      });

      const error = await caught(
        waitForOperation(client, "op-1", { timeoutMs: 1_000 }),
      );

      expect((error as ConsoleError).code).toBe("timeout");
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps an error response as LxdError with the operation id", async () => {
    const { client } = clientReturning(async () => {
      throw new LxdError({
        status: 404,
        lxdMessage: "Operation not found",
        method: "GET",
        path: "/1.0/operations/op-2/wait",
      });
    });

    const error = await caught(
      waitForOperation(client, "op-2", { timeoutMs: 1_000 }),
    );

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).status).toBe(404);
    expect((error as LxdError).operationId).toBe("op-2");
  });
});
