import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";
import { LxdError } from "@/lib/lxd";

import { errorResponse } from "./http";

describe("errorResponse", () => {
  it("returns an LXD error without the path", async () => {
    const error = new LxdError({
      status: 404,
      lxdMessage: "Instance not found",
      method: "GET",
      path: "/1.0/instances/web?project=default",
    });

    const response = errorResponse(error);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: "not_found",
        message: "LXD returned an error: Instance not found.",
      },
    });
  });

  it("returns a console error's code and status", async () => {
    const response = errorResponse(
      new ConsoleError("conflict", "The instance is busy."),
    );

    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: { code: "conflict", message: "The instance is busy." },
    });
  });

  it("hides an unknown error's message", async () => {
    const response = errorResponse(new Error("password=hunter2"));

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: {
        code: "internal",
        message: "Internal error. The server log has the details.",
      },
    });
  });
});
