import net from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";

import { ConsoleError } from "@/lib/errors";

import type { LxdClient } from "./client";

/** The fields of an LXD 5.0 certificate add token, a base64-encoded JSON object. */
export interface LxdTrustToken {
  clientName: string;
  /** SHA-256 fingerprint of the server certificate, lowercase hex without colons. */
  fingerprint: string;
  /** Addresses (HOST:PORT) the server listens on for HTTPS. */
  addresses: string[];
  secret: string;
  /** Expiry time, or null when the token does not expire. */
  expiresAt: string | null;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Decodes a token printed by `lxc config trust add --name NAME` (LXD 5.0).
 * Throws ConsoleError("invalid_input") when the text is not such a token.
 */
export function decodeTrustToken(token: string): LxdTrustToken {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(
      Buffer.from(token.trim(), "base64").toString("utf8"),
    ) as Record<string, unknown>;
  } catch {
    throw invalidToken("it is not base64-encoded JSON");
  }

  const { client_name, fingerprint, addresses, secret, expires_at } = fields;
  if (typeof secret !== "string" || secret === "") {
    throw invalidToken("it has no secret");
  }
  if (typeof fingerprint !== "string" || !/^[0-9a-f]{64}$/.test(fingerprint)) {
    throw invalidToken("it has no SHA-256 server fingerprint");
  }

  // Go's zero time means the token never expires.
  const expiry =
    typeof expires_at === "string" && !expires_at.startsWith("0001-")
      ? expires_at
      : null;
  return {
    clientName: typeof client_name === "string" ? client_name : "",
    fingerprint,
    addresses: Array.isArray(addresses)
      ? addresses.filter((value): value is string => typeof value === "string")
      : [],
    secret,
    expiresAt: expiry,
  };
}

function invalidToken(reason: string): ConsoleError {
  return new ConsoleError(
    "invalid_input",
    `The trust token is invalid: ${reason}. Paste the whole token that ` +
      "`lxc config trust add --name NAME` printed on the server.",
  );
}

/** Converts a certificate's SHA-256 fingerprint to LXD's form: lowercase hex, no colons. */
export function lxdFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
}

/**
 * Connects to an LXD server over TLS without checking its certificate and
 * returns the certificate it presented, as PEM. The caller must verify it
 * (against a trust token's fingerprint) before pinning it. No request is
 * sent on this connection.
 */
export function fetchServerCertificate(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, "");

  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(port) || 8443,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ConsoleError(
          "timeout",
          `Connecting to ${url} timed out after ${CONNECT_TIMEOUT_MS / 1000} s. ` +
            "Check the address and that LXD listens there (core.https_address).",
        ),
      );
    }, CONNECT_TIMEOUT_MS);

    socket.once("error", (error: Error) => {
      clearTimeout(timer);
      reject(
        new ConsoleError(
          "host_unreachable",
          `Connecting to ${url} failed: ${error.message}. ` +
            "Check the address and that LXD listens there (core.https_address).",
          { cause: error },
        ),
      );
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const certificate = socket.getPeerX509Certificate();
      socket.destroy();
      if (!certificate) {
        reject(
          new ConsoleError("lxd_error", `${url} presented no TLS certificate.`),
        );
        return;
      }
      resolve(certificate.toString());
    });
  });
}

/**
 * Asks the server to trust the client certificate of `client`'s TLS
 * connection with POST /1.0/certificates. LXD 5.0.2 takes the whole token
 * (not only its secret) in the `password` field and names the certificate
 * after the token's client name; releases with the explicit_trust_token API
 * extension take it as `trust_token` instead.
 */
export async function addCertificateWithToken(
  client: LxdClient,
  options: { token: string; explicitTrustToken: boolean },
): Promise<void> {
  const token = options.token.trim();
  const credential = options.explicitTrustToken
    ? { trust_token: token }
    : { password: token };
  await client.requestSync<unknown>("POST", "/1.0/certificates", {
    body: { type: "client", ...credential },
  });
}

/** Returns the API extensions that GET /1.0 lists, which untrusted clients may read too. */
export async function getApiExtensions(client: LxdClient): Promise<string[]> {
  const result = await client.requestSync<{ api_extensions?: string[] }>(
    "GET",
    "/1.0",
  );
  return result.metadata.api_extensions ?? [];
}

/** Removes a certificate from the server's trust store (DELETE /1.0/certificates/FINGERPRINT). */
export async function deleteCertificate(
  client: LxdClient,
  fingerprint: string,
): Promise<void> {
  await client.requestSync<unknown>(
    "DELETE",
    `/1.0/certificates/${encodeURIComponent(fingerprint)}`,
  );
}

/** A member of an LXD cluster, from GET /1.0/cluster/members?recursion=1. */
export interface LxdClusterMember {
  server_name: string;
  url: string;
  status: string;
  message: string;
  roles?: string[];
  architecture?: string;
}

/** Lists the members of the cluster the server belongs to. */
export async function listClusterMembers(
  client: LxdClient,
): Promise<LxdClusterMember[]> {
  const result = await client.requestSync<LxdClusterMember[]>(
    "GET",
    "/1.0/cluster/members",
    { query: { recursion: 1 } },
  );
  return result.metadata;
}
