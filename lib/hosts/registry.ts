import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConsoleError } from "@/lib/errors";
import { LxdClient, findLocalSocket, type LxdEndpoint } from "@/lib/lxd";
import { describeZodError } from "@/lib/validation";

/**
 * The LXD hosts the console manages. Without SANDBOX_CONSOLE_HOSTS there is
 * one host, "local", reached through the local unix socket. With it, the
 * variable names a JSON file holding a list of host entries.
 */
export interface HostDefinition {
  id: string;
  name: string;
  /** Where to reach LXD; "local" resolves the unix socket on each connect. */
  endpoint: LxdEndpoint | { kind: "local" };
  /** "database" for hosts an admin added in the console; unset for the hosts file. */
  source?: "database";
}

const hostIdSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,30}$/,
    "Host ids are 1-31 lowercase letters, digits or hyphens, starting with a letter",
  );

const hostEntrySchema = z.union([
  z.object({ id: hostIdSchema, name: z.string().min(1), socket: z.string().min(1) }),
  z.object({ id: hostIdSchema, name: z.string().min(1), local: z.literal(true) }),
  z.object({
    id: hostIdSchema,
    name: z.string().min(1),
    url: z.url(),
    clientCertFile: z.string().min(1),
    clientKeyFile: z.string().min(1),
    serverCertFile: z.string().min(1),
  }),
], {
  error:
    'each host needs "id" and "name", and either "local": true, a "socket" path, ' +
    'or a "url" with "clientCertFile", "clientKeyFile" and "serverCertFile"',
});

function readPem(path: string, hostId: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConsoleError(
      "invalid_input",
      `Cannot read ${path} for host "${hostId}": ${(error as Error).message}. ` +
        "Fix the path in the file named by SANDBOX_CONSOLE_HOSTS.",
    );
  }
}

/** Parses the hosts file; exported for tests. */
export function parseHostsFile(text: string, source: string): HostDefinition[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConsoleError(
      "invalid_input",
      `${source} is not valid JSON (${(error as Error).message}).`,
    );
  }

  const parsed = z
    .array(hostEntrySchema)
    .min(1, "list at least one host")
    .safeParse(json, { reportInput: true });
  if (!parsed.success) {
    throw new ConsoleError(
      "invalid_input",
      `${source} is not a valid hosts list. ${describeZodError(parsed.error)}`,
    );
  }

  const seen = new Set<string>();
  return parsed.data.map((entry) => {
    if (seen.has(entry.id)) {
      throw new ConsoleError(
        "invalid_input",
        `${source} lists host id "${entry.id}" twice; host ids must be unique.`,
      );
    }
    seen.add(entry.id);

    if ("socket" in entry) {
      return {
        id: entry.id,
        name: entry.name,
        endpoint: { kind: "unix", socketPath: entry.socket },
      };
    }
    if ("local" in entry) {
      return { id: entry.id, name: entry.name, endpoint: { kind: "local" } };
    }
    return {
      id: entry.id,
      name: entry.name,
      endpoint: {
        kind: "https",
        url: entry.url,
        clientCert: readPem(entry.clientCertFile, entry.id),
        clientKey: readPem(entry.clientKeyFile, entry.id),
        serverCert: readPem(entry.serverCertFile, entry.id),
      },
    };
  });
}

function loadHosts(): HostDefinition[] {
  const file = process.env.SANDBOX_CONSOLE_HOSTS;
  if (!file) {
    return [{ id: "local", name: "Local LXD", endpoint: { kind: "local" } }];
  }

  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConsoleError(
      "invalid_input",
      `Cannot read the hosts file ${file} named by SANDBOX_CONSOLE_HOSTS: ` +
        `${(error as Error).message}.`,
    );
  }
  return parseHostsFile(text, file);
}

interface Registry {
  /** Hosts from SANDBOX_CONSOLE_HOSTS, or the local socket. */
  hosts: HostDefinition[];
  /** Hosts an admin added in the console (table lxd_hosts). */
  databaseHosts: HostDefinition[];
  clients: Map<string, LxdClient>;
}

const globalRegistry = globalThis as typeof globalThis & {
  __sandboxConsoleHosts?: Registry;
};

function registry(): Registry {
  globalRegistry.__sandboxConsoleHosts ??= {
    hosts: loadHosts(),
    databaseHosts: [],
    clients: new Map(),
  };
  return globalRegistry.__sandboxConsoleHosts;
}

/** Lists the hosts of the hosts file, then those added in the console. */
export function listHosts(): HostDefinition[] {
  const { hosts, databaseHosts } = registry();
  const fileIds = new Set(hosts.map((host) => host.id));
  // A file host keeps its id, so an added host with the same id is hidden.
  return [...hosts, ...databaseHosts.filter((host) => !fileIds.has(host.id))];
}

/** Returns the host with this id, or throws not_found naming the known ids. */
export function getHost(id: string): HostDefinition {
  const hosts = listHosts();
  const host = hosts.find((candidate) => candidate.id === id);
  if (!host) {
    const known = hosts.map((candidate) => `"${candidate.id}"`).join(", ");
    throw new ConsoleError(
      "not_found",
      `Unknown host "${id}". Configured hosts: ${known}.`,
    );
  }
  return host;
}

/**
 * Returns the LXD client of a host, creating it on first use. A "local" host
 * looks for the socket at that moment, so a missing socket is reported as the
 * host being unreachable rather than failing at start-up.
 */
export function getClient(id: string): LxdClient {
  const { clients } = registry();
  const cached = clients.get(id);
  if (cached) return cached;

  const host = getHost(id);
  const endpoint: LxdEndpoint =
    host.endpoint.kind === "local"
      ? { kind: "unix", socketPath: findLocalSocket() }
      : host.endpoint;
  const client = new LxdClient(endpoint);
  clients.set(id, client);
  return client;
}

/**
 * Replaces the configured hosts, closing the clients of the old ones. Tests
 * use it to point the console at their private daemons.
 */
export function replaceHosts(hosts: HostDefinition[]): void {
  const current = globalRegistry.__sandboxConsoleHosts;
  for (const client of current?.clients.values() ?? []) void client.close();
  globalRegistry.__sandboxConsoleHosts = {
    hosts,
    databaseHosts: [],
    clients: new Map(),
  };
}

/**
 * Replaces the hosts added in the console (from the table lxd_hosts). The
 * cached clients of hosts that left or changed are closed.
 */
export function setDatabaseHosts(hosts: HostDefinition[]): void {
  const current = registry();
  const next = hosts.map((host) => ({ ...host, source: "database" as const }));

  for (const old of current.databaseHosts) {
    const replacement = next.find((host) => host.id === old.id);
    const unchanged =
      replacement !== undefined &&
      JSON.stringify(replacement.endpoint) === JSON.stringify(old.endpoint);
    if (!unchanged) resetClient(old.id);
  }
  current.databaseHosts = next;
}

/** Drops a host's cached client, so the next use reconnects from scratch. */
export function resetClient(id: string): void {
  const { clients } = registry();
  void clients.get(id)?.close();
  clients.delete(id);
}
