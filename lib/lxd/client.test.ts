import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { lxdPath, parseLxdResponse } from "./client";
import { LxdError, toConsoleError } from "./errors";
import { loadResponse, responseText } from "./fixtures/load";
import type { LxdOperation, LxdServer } from "./types";

function parseRecorded<T>(name: string) {
  const recorded = loadResponse(name);
  return parseLxdResponse<T>({
    statusCode: recorded.status,
    etag: recorded.etag,
    text: responseText(recorded),
    method: recorded.request.method,
    path: recorded.request.path,
  });
}

function parseError(response: Parameters<typeof parseLxdResponse>[0]): unknown {
  try {
    parseLxdResponse(response);
  } catch (error) {
    return error;
  }
  throw new Error("parseLxdResponse did not throw");
}

describe("parseLxdResponse", () => {
  it("unwraps a sync response", () => {
    const result = parseRecorded<LxdServer>("server.json");

    expect(result.type).toBe("sync");
    if (result.type !== "sync") return;
    expect(result.metadata.api_version).toBe("1.0");
    expect(result.metadata.auth).toBe("trusted");
  });

  it("returns the ETag of a sync response", () => {
    const recorded = loadResponse("instance-full.json");
    const result = parseRecorded("instance-full.json");

    expect(recorded.etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect(result.type).toBe("sync");
    if (result.type !== "sync") return;
    expect(result.etag).toBe(recorded.etag);
  });

  it("returns the operation of an async response", () => {
    const result = parseRecorded<unknown>("async-start.json");

    expect(result.type).toBe("async");
    if (result.type !== "async") return;
    const operation: LxdOperation = result.operation;
    expect(operation.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(operation.description).toBe("Starting instance");
    expect(operation.resources?.instances).toEqual(["/1.0/instances/idle-1"]);
  });

  it("throws LxdError with LXD's message for a 404", () => {
    const recorded = loadResponse("error-not-found.json");
    const error = parseError({
      statusCode: recorded.status,
      etag: null,
      text: responseText(recorded),
      method: "PUT",
      path: "/1.0/instances/missing-1/state",
    });

    expect(error).toBeInstanceOf(LxdError);
    const lxdError = error as LxdError;
    expect(lxdError.status).toBe(404);
    expect(lxdError.lxdMessage).toBe("Instance not found");
    expect(lxdError.method).toBe("PUT");
    expect(lxdError.path).toBe("/1.0/instances/missing-1/state");
    expect(lxdError.message).toBe("Instance not found");
    expect(lxdError.operationId).toBeNull();
  });

  it("throws LxdError with status 412 for a stale ETag", () => {
    const recorded = loadResponse("error-etag-mismatch.json");
    const error = parseError({
      statusCode: recorded.status,
      etag: null,
      text: responseText(recorded),
      method: "PATCH",
      path: "/1.0/instances/idle-1",
    });

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).status).toBe(412);
    expect((error as LxdError).lxdMessage).toMatch(/^ETag doesn't match/);
  });

  it("uses the HTTP status when the error code is missing", () => {
    const error = parseError({
      statusCode: 500,
      etag: null,
      text: JSON.stringify({ type: "error", error: "boom" }),
      method: "GET",
      path: "/1.0",
    });

    expect((error as LxdError).status).toBe(500);
    expect((error as LxdError).lxdMessage).toBe("boom");
  });

  it("throws LxdError for a non-JSON error body", () => {
    const error = parseError({
      statusCode: 502,
      etag: null,
      text: "Bad Gateway\n",
      method: "GET",
      path: "/1.0",
    });

    expect(error).toBeInstanceOf(LxdError);
    expect((error as LxdError).status).toBe(502);
    expect((error as LxdError).lxdMessage).toBe("Bad Gateway");
  });

  it("throws LxdError for an HTTP error with a sync body", () => {
    const error = parseError({
      statusCode: 403,
      etag: null,
      text: JSON.stringify({ type: "sync", metadata: {} }),
      method: "GET",
      path: "/1.0/instances",
    });

    expect((error as LxdError).status).toBe(403);
    expect((error as LxdError).lxdMessage).toBe("HTTP 403");
  });

  it("rejects a non-JSON success body", () => {
    const error = parseError({
      statusCode: 200,
      etag: null,
      text: "<html>",
      method: "GET",
      path: "/1.0",
    });

    expect(error).toBeInstanceOf(ConsoleError);
    expect((error as ConsoleError).code).toBe("lxd_error");
    expect((error as ConsoleError).message).toBe(
      "LXD returned a response that is not a JSON object (HTTP 200).",
    );
  });

  it("rejects an unknown response type", () => {
    const error = parseError({
      statusCode: 200,
      etag: null,
      text: JSON.stringify({ type: "stream", metadata: null }),
      method: "GET",
      path: "/1.0",
    });

    expect((error as ConsoleError).code).toBe("lxd_error");
    expect((error as ConsoleError).message).toContain('"stream"');
  });

  it("rejects an async response without an operation id", () => {
    const error = parseError({
      statusCode: 202,
      etag: null,
      text: JSON.stringify({ type: "async", metadata: {} }),
      method: "PUT",
      path: "/1.0/instances/a/state",
    });

    expect((error as ConsoleError).code).toBe("lxd_error");
  });
});

describe("lxdPath", () => {
  it("encodes interpolated values", () => {
    expect(lxdPath`/1.0/instances/${"a b"}/snapshots/${"s/1"}`).toBe(
      "/1.0/instances/a%20b/snapshots/s%2F1",
    );
  });

  it("encodes query and fragment characters", () => {
    expect(lxdPath`/1.0/instances/${"x?project=y#z"}`).toBe(
      "/1.0/instances/x%3Fproject%3Dy%23z",
    );
  });

  it("leaves the template text alone", () => {
    expect(lxdPath`/1.0/operations/${"id-1"}/wait`).toBe(
      "/1.0/operations/id-1/wait",
    );
  });
});

describe("toConsoleError", () => {
  const cases: Array<[number, string | null, string]> = [
    [404, null, "not_found"],
    [409, null, "conflict"],
    [412, null, "conflict"],
    [400, null, "invalid_input"],
    [400, "op-1", "lxd_error"],
    [403, null, "lxd_error"],
    [500, null, "lxd_error"],
  ];

  it.each(cases)(
    "maps status %i (operation %s) to %s",
    (status, operationId, code) => {
      const error = new LxdError({
        status,
        lxdMessage: "message from LXD",
        method: "GET",
        path: "/1.0",
        operationId,
      });

      const converted = toConsoleError(error);
      expect(converted.code).toBe(code);
      expect(converted.message).toBe(
        "LXD returned an error: message from LXD.",
      );
      expect(converted.cause).toBe(error);
    },
  );
});
