import { afterEach, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "./test-database";

describe("testDatabaseUrl", () => {
  const saved = process.env.DATABASE_URL;

  afterEach(() => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  });

  it("accepts a loopback server", () => {
    process.env.DATABASE_URL = "postgres://postgres@localhost:5432/test";
    expect(testDatabaseUrl()).toBe("postgres://postgres@localhost:5432/test");
  });

  it("rejects a remote server", () => {
    process.env.DATABASE_URL = "postgres://postgres@db.example.com:5432/prod";
    expect(() => testDatabaseUrl()).toThrow(
      /Refusing to run database tests against db.example.com/,
    );
  });
});
