import { describe, expect, it } from "vitest";
import { ConsoleError } from "@/lib/errors";
import { parseHostsFile } from "./registry";

function parseError(text: string): ConsoleError {
  try {
    parseHostsFile(text, "hosts.json");
  } catch (error) {
    return error as ConsoleError;
  }
  throw new Error("expected parseHostsFile to throw");
}

describe("parseHostsFile", () => {
  it("reads local and socket hosts", () => {
    const hosts = parseHostsFile(
      JSON.stringify([
        { id: "local", name: "Local", local: true },
        { id: "lab-2", name: "Lab", socket: "/srv/lxd/unix.socket" },
      ]),
      "hosts.json",
    );
    expect(hosts).toEqual([
      { id: "local", name: "Local", endpoint: { kind: "local" } },
      {
        id: "lab-2",
        name: "Lab",
        endpoint: { kind: "unix", socketPath: "/srv/lxd/unix.socket" },
      },
    ]);
  });

  it("rejects invalid JSON naming the file", () => {
    const error = parseError("{not json");
    expect(error.code).toBe("invalid_input");
    expect(error.message).toContain("hosts.json is not valid JSON");
  });

  it("rejects a bad host id with the rule", () => {
    const error = parseError(JSON.stringify([{ id: "Bad Id", name: "x", local: true }]));
    expect(error.message).toContain("Host ids are 1-31 lowercase letters");
  });

  it("names the accepted forms of a host entry", () => {
    const error = parseError(JSON.stringify([{ id: "a", name: "A" }]));

    expect(error.message).toBe(
      'hosts.json is not a valid hosts list. Invalid "[0]" (an object): ' +
        'each host needs "id" and "name", and either "local": true, a ' +
        '"socket" path, or a "url" with "clientCertFile", "clientKeyFile" ' +
        'and "serverCertFile".',
    );
  });

  it("rejects an empty list in a sentence", () => {
    const error = parseError("[]");

    expect(error.message).toBe(
      "hosts.json is not a valid hosts list. " +
        "Invalid input (a list of 0 items): list at least one host.",
    );
  });

  it("rejects duplicate ids", () => {
    const entry = { id: "a", name: "A", local: true };
    const error = parseError(JSON.stringify([entry, entry]));
    expect(error.message).toContain('lists host id "a" twice');
  });

  it("rejects an HTTPS host whose certificate file is missing", () => {
    const error = parseError(
      JSON.stringify([
        {
          id: "remote",
          name: "Remote",
          url: "https://127.0.0.1:8443",
          clientCertFile: "/nonexistent/client.crt",
          clientKeyFile: "/nonexistent/client.key",
          serverCertFile: "/nonexistent/server.crt",
        },
      ]),
    );
    expect(error.message).toContain("Cannot read /nonexistent/client.crt");
    expect(error.message).toContain('host "remote"');
  });
});
