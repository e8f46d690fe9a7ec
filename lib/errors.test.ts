import { describe, expect, it } from "vitest";
import { ConsoleError, userMessage } from "./errors";

describe("ConsoleError", () => {
  it("is recognised across copies of the class", () => {
    // A second copy of the module, as a separate Next.js route bundle has.
    const brand = Symbol.for("sandbox-console.ConsoleError");
    const foreign = Object.assign(new Error("from another bundle"), { [brand]: true, code: "not_found" });
    expect(foreign instanceof ConsoleError).toBe(true);
    expect(userMessage(foreign)).toBe("from another bundle");
  });

  it("hides the message of an unknown error", () => {
    expect(new Error("secret detail") instanceof ConsoleError).toBe(false);
    expect(userMessage(new Error("secret detail"))).not.toContain("secret detail");
  });

  it("shows LXD's text without the request path", () => {
    const brand = Symbol.for("sandbox-console.LxdError");
    const lxdError = Object.assign(new Error("Instance not found"), {
      [brand]: true,
      lxdMessage: "Instance not found",
      method: "GET",
      path: "/1.0/instances/web",
    });

    expect(userMessage(lxdError)).toBe(
      "LXD returned an error: Instance not found.",
    );
  });

  it("maps codes to HTTP statuses", () => {
    expect(new ConsoleError("audit_unavailable", "x").status).toBe(503);
    expect(new ConsoleError("not_found", "x").status).toBe(404);
  });
});
