import { describe, expect, it } from "vitest";

import { DELETE, GET, POST } from "@/app/api/[...path]/route";

describe("unknown API routes", () => {
  it("GET /api/instances/a: JSON 404 with the forms", async () => {
    const response = GET(new Request("http://console.test/api/instances/a"));

    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: {
        code: "not_found",
        message:
          "No API route matches GET /api/instances/a. Use GET /api/instances " +
          "for the list, GET /api/instances/HOST/PROJECT/NAME for one " +
          "instance, or POST /api/instances/usage, with each part " +
          'URL-encoded (for example "?" in a project name as %3F).',
      },
    });
  });

  it("POST /api/instances/a/b/c/d: JSON 404", async () => {
    const response = POST(
      new Request("http://console.test/api/instances/a/b/c/d", {
        method: "POST",
      }),
    );
    const body = (await response.json()) as { error: { message: string } };

    expect(response.status).toBe(404);
    expect(body.error.message).toMatch(
      /^No API route matches POST \/api\/instances\/a\/b\/c\/d\. Use GET/,
    );
  });

  it("DELETE /api/nothing: JSON 404 without instance forms", async () => {
    const response = DELETE(
      new Request("http://console.test/api/nothing", { method: "DELETE" }),
    );

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: "not_found",
        message:
          "No API route matches DELETE /api/nothing. Check the path " +
          "against the console's API routes.",
      },
    });
  });

  it("shortens a long path", async () => {
    const long = `/api/${"x".repeat(5000)}`;
    const response = GET(new Request(`http://console.test${long}`));
    const body = (await response.json()) as { error: { message: string } };

    expect(body.error.message.length).toBeLessThan(300);
  });
});
