import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { z } from "zod";

import { runAudited, type AuditActor } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { lxdHosts } from "@/lib/db/schema";
import { ConsoleError } from "@/lib/errors";
import { LxdClient, LxdError, getServerInfo } from "@/lib/lxd";
import {
  addCertificateWithToken,
  decodeTrustToken,
  deleteCertificate,
  fetchServerCertificate,
  getApiExtensions,
  listClusterMembers,
  lxdFingerprint,
} from "@/lib/lxd/certificates";
import { log } from "@/lib/log";

import {
  databaseHostFailures,
  deleteHostRow,
  reloadDatabaseHosts,
} from "./database-hosts";
import { encryptHostKey, loadSecretKey } from "./host-key-encryption";
import { getClient, getHost, listHosts } from "./registry";
import { getFleet } from "./watcher";

const runFile = promisify(execFile);

/** Input of adding a host, validated on the server. */
export const addHostInput = z.object({
  id: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,30}$/,
      "expected 1-31 lowercase letters, digits or hyphens, starting with a letter",
    ),
  name: z.string().trim().min(1).max(100),
  url: z
    .url({ protocol: /^https$/ })
    .refine((value) => new URL(value).pathname === "/", {
      message: "expected https://ADDRESS:PORT without a path",
    }),
  token: z.string().trim().min(1),
});

export type AddHostInput = z.infer<typeof addHostInput>;

export interface HostActionContext {
  actor: AuditActor & { email: string };
  sourceAddress?: string | null;
}

/** Result of testing a host: its identity and cluster members. */
export interface HostCheck {
  id: string;
  serverName: string;
  serverVersion: string;
  clustered: boolean;
  /** Cluster members when the host is a cluster member, else empty. */
  members: { name: string; url: string; status: string; message: string }[];
}

/**
 * Adds an LXD server with a trust token: creates a client key pair, reads
 * the server's certificate and checks it against the fingerprint in the
 * token, presents the token, then stores the pinned certificate and the key
 * pair in lxd_hosts, the private key encrypted. The key never leaves the
 * server, and the token is not written to the audit log.
 */
export async function addHost(
  db: Db,
  context: HostActionContext,
  input: AddHostInput,
): Promise<HostCheck> {
  if (listHosts().some((host) => host.id === input.id)) {
    throw new ConsoleError(
      "conflict",
      `A host with the id "${input.id}" already exists. Choose another id.`,
    );
  }
  const token = decodeTrustToken(input.token);
  if (token.expiresAt !== null && Date.parse(token.expiresAt) < Date.now()) {
    throw new ConsoleError(
      "invalid_input",
      `The trust token expired at ${token.expiresAt}. Create a new one on the server.`,
    );
  }

  return runAudited(
    db,
    {
      actor: context.actor,
      sourceAddress: context.sourceAddress,
      action: "host.add",
      host: input.id,
      params: { name: input.name, url: input.url, tokenClientName: token.clientName },
    },
    async () => {
      const endpoint = await trustWithToken(input.url, input.token, token.fingerprint);
      const client = new LxdClient(endpoint);
      let check: HostCheck;
      try {
        check = await describeHost(input.id, client);
      } finally {
        await client.close();
      }

      await db.insert(lxdHosts).values({
        id: input.id,
        name: input.name,
        url: input.url,
        serverCertificate: endpoint.serverCert,
        serverFingerprint: token.fingerprint,
        clientCertificate: endpoint.clientCert,
        clientKey: encryptHostKey(endpoint.clientKey, input.id, loadSecretKey()),
        addedBy: context.actor.email,
      });
      await reloadDatabaseHosts(db);
      getFleet().refreshHosts();
      return check;
    },
  );
}

async function trustWithToken(
  url: string,
  token: string,
  expectedFingerprint: string,
): Promise<{
  kind: "https";
  url: string;
  clientCert: string;
  clientKey: string;
  serverCert: string;
}> {
  const serverCert = await fetchServerCertificate(url);
  const presented = lxdFingerprint(serverCert);
  if (presented !== expectedFingerprint) {
    throw new ConsoleError(
      "invalid_input",
      `The server at ${url} presented certificate ${presented}, but the trust ` +
        `token was issued by the server with certificate ${expectedFingerprint}. ` +
        "Check the address: it must be the server that created the token.",
    );
  }

  const { certificate, key } = await createClientKeyPair();
  const endpoint = {
    kind: "https" as const,
    url,
    clientCert: certificate,
    clientKey: key,
    serverCert,
  };
  const client = new LxdClient(endpoint);
  try {
    const extensions = await getApiExtensions(client);
    await addCertificateWithToken(client, {
      token,
      explicitTrustToken: extensions.includes("explicit_trust_token"),
    });
  } catch (error) {
    if (error instanceof LxdError && error.status === 403) {
      throw new ConsoleError(
        "invalid_input",
        `${url} rejected the trust token, so it is wrong, already used or ` +
          "expired. Create a new one with `lxc config trust add --name NAME` on the server.",
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.close();
  }
  return endpoint;
}

/**
 * Creates a self-signed client certificate and its private key (PEM) with
 * the openssl CLI, in a private temporary folder that is removed after.
 */
export async function createClientKeyPair(): Promise<{
  certificate: string;
  key: string;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sandbox-console-key-"));
  const certPath = path.join(dir, "client.crt");
  const keyPath = path.join(dir, "client.key");
  try {
    await runFile("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:secp384r1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "3650",
      "-subj",
      `/CN=sandbox-console@${os.hostname()}`,
    ]);
    return {
      certificate: await fs.readFile(certPath, "utf8"),
      key: await fs.readFile(keyPath, "utf8"),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function describeHost(id: string, client: LxdClient): Promise<HostCheck> {
  const info = await getServerInfo(client);
  const members = info.clustered ? await listClusterMembers(client) : [];
  return {
    id,
    serverName: info.serverName,
    serverVersion: info.serverVersion,
    clustered: info.clustered,
    members: members.map((member) => ({
      name: member.server_name,
      url: member.url,
      status: member.status,
      message: member.message,
    })),
  };
}

/** Reads GET /1.0 (and the cluster members) of a configured host. */
export async function testHost(id: string): Promise<HostCheck> {
  getHost(id);
  return describeHost(id, getClient(id));
}

/**
 * Removes a host added in the console: deletes the console's certificate
 * from the server's trust store (a failure there is logged, not fatal, because the
 * server may be gone), deletes the row and stops watching the host. Hosts
 * from the hosts file cannot be removed here.
 */
export async function removeHost(
  db: Db,
  context: HostActionContext,
  id: string,
): Promise<void> {
  if (databaseHostFailures().has(id) && !listHosts().some((host) => host.id === id)) {
    await removeUnusableHost(db, context, id);
    return;
  }
  const host = getHost(id);
  if (host.source !== "database" || host.endpoint.kind !== "https") {
    throw new ConsoleError(
      "invalid_input",
      `Host "${id}" comes from the hosts file named by SANDBOX_CONSOLE_HOSTS. ` +
        "Remove it from that file instead.",
    );
  }
  const clientFingerprint = lxdFingerprint(host.endpoint.clientCert);

  await runAudited(
    db,
    {
      actor: context.actor,
      sourceAddress: context.sourceAddress,
      action: "host.remove",
      host: id,
      params: { url: host.endpoint.url },
    },
    async () => {
      try {
        await deleteCertificate(getClient(id), clientFingerprint);
      } catch (error) {
        log.warn(
          { host: id, err: error },
          "removing the console's certificate from the host failed",
        );
      }
      await deleteHostRow(db, id);
      await reloadDatabaseHosts(db);
      getFleet().refreshHosts();
    },
  );
}

/**
 * Removes a host added in the console whose row could not be loaded, such
 * as one whose client key does not decrypt. Without the key the console
 * cannot remove its certificate from the server, and the audit row records that.
 */
async function removeUnusableHost(
  db: Db,
  context: HostActionContext,
  id: string,
): Promise<void> {
  await runAudited(
    db,
    {
      actor: context.actor,
      sourceAddress: context.sourceAddress,
      action: "host.remove",
      host: id,
      params: { unusable: true, certificateLeftOnServer: true },
    },
    async () => {
      await deleteHostRow(db, id);
      await reloadDatabaseHosts(db);
      getFleet().refreshHosts();
    },
  );
}
