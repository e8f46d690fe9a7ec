import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { decodeTrustToken } from "./certificates";

function encode(fields: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(fields)).toString("base64");
}

const fingerprint = "a".repeat(64);

describe("decodeTrustToken", () => {
  it("reads the fields of an LXD 5.0 token", () => {
    const token = decodeTrustToken(
      encode({
        client_name: "console",
        fingerprint,
        addresses: ["127.0.0.1:18472"],
        secret: "s3cret",
        expires_at: "0001-01-01T00:00:00Z",
      }),
    );
    expect(token).toEqual({
      clientName: "console",
      fingerprint,
      addresses: ["127.0.0.1:18472"],
      secret: "s3cret",
      expiresAt: null,
    });
  });

  it("keeps a real expiry time", () => {
    const token = decodeTrustToken(
      encode({ fingerprint, secret: "x", expires_at: "2030-01-01T00:00:00Z" }),
    );
    expect(token.expiresAt).toBe("2030-01-01T00:00:00Z");
  });

  it.each([
    ["not base64 JSON", "@@@", /not base64-encoded JSON/],
    ["no secret", encode({ fingerprint }), /has no secret/],
    ["no fingerprint", encode({ secret: "x" }), /no SHA-256 server fingerprint/],
  ])("rejects a token with %s", (_case, token, message) => {
    let caught: unknown;
    try {
      decodeTrustToken(token);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConsoleError);
    expect((caught as ConsoleError).code).toBe("invalid_input");
    expect((caught as ConsoleError).message).toMatch(message);
  });
});
