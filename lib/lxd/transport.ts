import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";

import { Agent, type Dispatcher } from "undici";

import { ConsoleError } from "@/lib/errors";

/** Address and credentials of one LXD server. Certificates and keys are PEM. */
export type LxdEndpoint =
  | { kind: "unix"; socketPath: string }
  | {
      kind: "https";
      /** Base URL such as https://10.0.0.5:8443, without a path. */
      url: string;
      clientCert: string;
      clientKey: string;
      /** The server's own certificate, pinned: no other one is accepted. */
      serverCert: string;
    };

/** Error code of a TLS connection whose server certificate is not the pin. */
export const PIN_MISMATCH_CODE = "LXD_CERT_PIN_MISMATCH";

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Returns the path of the local LXD socket: $LXD_DIR/unix.socket when
 * LXD_DIR is set, then Debian's /var/lib/lxd/unix.socket, then the snap's
 * /var/snap/lxd/common/lxd/unix.socket. The first path that exists wins.
 */
export function findLocalSocket(
  env: Record<string, string | undefined> = process.env,
): string {
  return findExistingSocket(localSocketCandidates(env));
}

/** Lists the local socket paths findLocalSocket tries, in order. */
export function localSocketCandidates(
  env: Record<string, string | undefined>,
): string[] {
  const candidates: string[] = [];
  if (env.LXD_DIR) candidates.push(path.join(env.LXD_DIR, "unix.socket"));
  candidates.push("/var/lib/lxd/unix.socket");
  candidates.push("/var/snap/lxd/common/lxd/unix.socket");
  return candidates;
}

/**
 * Returns the first path that exists, or throws ConsoleError
 * ("host_unreachable") naming every path tried and the fix.
 */
export function findExistingSocket(candidates: string[]): string {
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found) return found;

  throw new ConsoleError(
    "host_unreachable",
    `No LXD socket found at ${candidates.join(", ")}. ` +
      "Start LXD, or set LXD_DIR to the directory of the running daemon.",
  );
}

/** Names the endpoint in messages: the socket path or the URL. */
export function describeEndpoint(endpoint: LxdEndpoint): string {
  return endpoint.kind === "unix"
    ? `LXD socket ${endpoint.socketPath}`
    : `LXD at ${endpoint.url}`;
}

/** SHA-256 fingerprint of a PEM certificate, as colon-separated hex. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Creates the undici dispatcher for an endpoint and the origin to use. */
export function createDispatcher(endpoint: LxdEndpoint): {
  dispatcher: Dispatcher;
  origin: string;
} {
  if (endpoint.kind === "unix") {
    return {
      dispatcher: new Agent({ connect: { socketPath: endpoint.socketPath } }),
      // The host name is never resolved: every request goes to the socket.
      origin: "http://lxd",
    };
  }

  const origin = new URL(endpoint.url).origin;
  const dispatcher = new Agent({
    connect: (options, callback) => {
      connectPinned(endpoint, {
        host: options.hostname,
        port: Number(options.port) || 8443,
      }).then(
        (socket) => callback(null, socket),
        (error: Error) => callback(error, null),
      );
    },
  });
  return { dispatcher, origin };
}

/**
 * Opens a TLS connection that presents the client certificate and resolves
 * only once the server has shown exactly the pinned certificate, so no
 * request byte reaches any other server.
 *
 * LXD's certificates are self-signed, carry CA:FALSE and rarely name the
 * address they are reached at, so CA and host name checks are off and the
 * SHA-256 fingerprint comparison is the whole server check. The handshake
 * proves the server has the private key of the certificate it presented.
 */
export function connectPinned(
  endpoint: Extract<LxdEndpoint, { kind: "https" }>,
  target: { host: string; port: number },
): Promise<tls.TLSSocket> {
  const expected = certificateFingerprint(endpoint.serverCert);

  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      servername: net.isIP(target.host) ? undefined : target.host,
      cert: endpoint.clientCert,
      key: endpoint.clientKey,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });

    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(
        Object.assign(
          new Error(
            `TLS connection not established within ${CONNECT_TIMEOUT_MS} ms`,
          ),
          { code: "ETIMEDOUT" },
        ),
      );
    }, CONNECT_TIMEOUT_MS);

    socket.once("error", fail);
    socket.once("secureConnect", () => {
      const presented = socket.getPeerX509Certificate()?.fingerprint256;
      if (presented !== expected) {
        fail(
          Object.assign(
            new Error(
              `server certificate ${presented ?? "(none)"} is not the pinned certificate ${expected}`,
            ),
            { code: PIN_MISMATCH_CODE },
          ),
        );
        return;
      }

      clearTimeout(timer);
      socket.removeListener("error", fail);
      resolve(socket);
    });
  });
}

/**
 * Converts a failure to reach LXD (socket missing, refused, denied, TLS
 * failure) into a ConsoleError that names the endpoint and the fix.
 */
export function transportError(
  endpoint: LxdEndpoint,
  error: unknown,
): ConsoleError {
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = describeEndpoint(endpoint);
  const startHint =
    endpoint.kind === "unix"
      ? "Start LXD, or set LXD_DIR to the directory of the running daemon."
      : "Check that LXD runs there with core.https_address set to that address.";

  switch (code) {
    case "ENOENT":
      return new ConsoleError(
        "host_unreachable",
        `${where} does not exist. ${startHint}`,
        { cause: error },
      );
    case "ECONNREFUSED":
      return new ConsoleError(
        "host_unreachable",
        `${where} refused the connection, so the daemon is not running or not listening there. ${startHint}`,
        { cause: error },
      );
    case "EACCES":
    case "EPERM":
      return new ConsoleError(
        "host_unreachable",
        `Permission denied on ${where}. Run the console as root or as a member of the socket's group.`,
        { cause: error },
      );
    case PIN_MISMATCH_CODE:
      return new ConsoleError(
        "host_unreachable",
        `${where} rejected: ${detail}. If the server's certificate was replaced on purpose, add the host again with its new certificate.`,
        { cause: error },
      );
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return new ConsoleError(
        "timeout",
        `Connecting to ${where} timed out. ${startHint}`,
        { cause: error },
      );
    default:
      return new ConsoleError(
        "host_unreachable",
        `Connection to ${where} failed: ${detail.replace(/\.$/, "")}.`,
        { cause: error },
      );
  }
}

// Failures that happen before a request can reach LXD.
const CONNECT_FAILURE_CODES = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "EACCES",
  "EPERM",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  PIN_MISMATCH_CODE,
]);

/**
 * Returns whether a transport failure happened while connecting, so LXD
 * never received the request. Other failures, such as a connection closed
 * by the other side, may come after LXD has received and acted on it.
 */
export function isConnectFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && CONNECT_FAILURE_CODES.has(code);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
