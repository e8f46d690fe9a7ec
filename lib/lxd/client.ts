import net from "node:net";
import type { ClientRequest, IncomingMessage } from "node:http";

import type { Dispatcher } from "undici";
import WebSocket from "ws";

import { ConsoleError } from "@/lib/errors";
import { log } from "@/lib/log";

import { LxdError } from "./errors";
import {
  connectPinned,
  createDispatcher,
  describeEndpoint,
  isConnectFailure,
  transportError,
  type LxdEndpoint,
} from "./transport";
import type { LxdOperation } from "./types";

export type LxdQuery = Record<string, string | number | boolean | undefined>;

export type LxdMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface LxdRequestOptions {
  query?: LxdQuery;
  /** Sent as JSON. */
  body?: unknown;
  /** ETag from an earlier GET, sent as If-Match on PUT and PATCH. */
  etag?: string | null;
  /** Overrides the client's request timeout for this request. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LxdSyncResult<T> {
  type: "sync";
  metadata: T;
  /** The ETag header, present on GETs of resources that support it. */
  etag: string | null;
}

export interface LxdAsyncResult {
  type: "async";
  operation: LxdOperation;
}

export type LxdResult<T> = LxdSyncResult<T> | LxdAsyncResult;

export interface LxdClientOptions {
  /** Time allowed for one request, response body included. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const lxdLog = log.child({ component: "lxd-client" });

/**
 * Builds an API path from a template, passing every interpolated value
 * through encodeURIComponent: lxdPath`/1.0/instances/${name}/state`.
 */
export function lxdPath(
  strings: TemplateStringsArray,
  ...values: Array<string | number>
): string {
  let result = strings[0] ?? "";
  values.forEach((value, index) => {
    result += encodeURIComponent(String(value)) + (strings[index + 1] ?? "");
  });
  return result;
}

/**
 * A connection to one LXD server over its unix socket or HTTPS. Every call
 * goes through `request`, which unwraps LXD's sync, async and error
 * responses and turns transport failures into ConsoleErrors.
 */
export class LxdClient {
  readonly endpoint: LxdEndpoint;
  /** The socket path or URL, for messages and logs. */
  readonly description: string;
  private readonly dispatcher: Dispatcher;
  private readonly origin: string;
  private readonly requestTimeoutMs: number;

  constructor(endpoint: LxdEndpoint, options: LxdClientOptions = {}) {
    this.endpoint = endpoint;
    this.description = describeEndpoint(endpoint);
    this.requestTimeoutMs =
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const { dispatcher, origin } = createDispatcher(endpoint);
    this.dispatcher = dispatcher;
    this.origin = origin;
  }

  /**
   * Sends one request and returns the unwrapped sync metadata or the
   * operation of an async response. Throws LxdError for LXD's error
   * responses and ConsoleError when LXD cannot be reached or times out.
   * When a request other than GET fails after the connection was made, the
   * code is "outcome_unknown", because LXD may have acted on it.
   */
  async request<T>(
    method: LxdMethod,
    path: string,
    options: LxdRequestOptions = {},
  ): Promise<LxdResult<T>> {
    if (path.includes("?")) {
      throw new Error(`Pass query parameters in options.query, not in ${path}`);
    }

    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const signal = options.signal
      ? AbortSignal.any([controller.signal, options.signal])
      : controller.signal;
    const startedAt = Date.now();

    const headers: Record<string, string> = {
      "user-agent": "sandbox-console",
    };
    if (options.body !== undefined)
      headers["content-type"] = "application/json";
    if (options.etag && (method === "PUT" || method === "PATCH")) {
      headers["if-match"] = options.etag;
    }

    let statusCode: number;
    let etag: string | null;
    let text: string;
    try {
      const response = await this.dispatcher.request({
        origin: this.origin,
        path: withQuery(path, options.query),
        method,
        headers,
        body:
          options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
      statusCode = response.statusCode;
      etag = headerValue(response.headers.etag);
      text = await response.body.text();
    } catch (error) {
      const timedOut = controller.signal.aborted;
      if (options.signal?.aborted && !timedOut) throw error;
      throw this.requestFailure(error, { method, path, timeoutMs, timedOut });
    } finally {
      clearTimeout(timer);
    }

    lxdLog.debug(
      {
        endpoint: this.description,
        method,
        path,
        status: statusCode,
        ms: Date.now() - startedAt,
      },
      "LXD request",
    );
    return parseLxdResponse<T>({ statusCode, etag, text, method, path });
  }

  private requestFailure(
    error: unknown,
    request: {
      method: LxdMethod;
      path: string;
      timeoutMs: number;
      timedOut: boolean;
    },
  ): ConsoleError {
    const { method, path, timeoutMs, timedOut } = request;
    lxdLog.warn(
      { endpoint: this.description, method, path, timedOut, err: error },
      "LXD request failed",
    );

    const failure = timedOut
      ? new ConsoleError(
          "timeout",
          `${this.description} did not respond within ${timeoutMs / 1000} s.`,
          { cause: error },
        )
      : transportError(this.endpoint, error);
    if (method === "GET" || (!timedOut && isConnectFailure(error))) {
      return failure;
    }

    return new ConsoleError(
      "outcome_unknown",
      `${asSentence(failure.message)} The request was sent, so LXD may or ` +
        "may not have carried it out.",
      { cause: error },
    );
  }

  /** Sends a request whose response is a sync response. */
  async requestSync<T>(
    method: LxdMethod,
    path: string,
    options: LxdRequestOptions = {},
  ): Promise<LxdSyncResult<T>> {
    const result = await this.request<T>(method, path, options);
    if (result.type !== "sync") {
      throw protocolError(
        `LXD started operation ${result.operation.id} where a direct response was expected.`,
        { method, path },
      );
    }
    return result;
  }

  /** Sends a request whose response is a background operation. */
  async requestOperation(
    method: LxdMethod,
    path: string,
    options: LxdRequestOptions = {},
  ): Promise<LxdOperation> {
    const result = await this.request<unknown>(method, path, options);
    if (result.type !== "async") {
      throw protocolError(
        "LXD returned a direct response where an operation was expected.",
        { method, path },
      );
    }
    return result.operation;
  }

  /**
   * Opens a WebSocket to an API path over the same transport (the unix
   * socket, or TLS with the pinned certificate) and resolves once it is
   * open. LXD's error response to the upgrade is thrown as LxdError.
   *
   * `options.setup` runs on the new WebSocket before it connects. Listeners
   * that must not miss the first messages are attached there, because LXD
   * may send data before the caller's code after `await` runs.
   */
  websocket(
    path: string,
    query?: LxdQuery,
    options: { setup?: (socket: WebSocket) => void } = {},
  ): Promise<WebSocket> {
    const target = withQuery(path, query);
    const endpoint = this.endpoint;
    const url =
      endpoint.kind === "unix"
        ? `ws://lxd${target}`
        : `${this.origin.replace(/^https:/, "wss:")}${target}`;

    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: this.requestTimeoutMs,
      // Node's HTTP client accepts createConnection(options, callback);
      // ws passes the option through unchanged.
      createConnection: ((
        options: { host: string; port: number | string },
        callback: (error: Error | null, socket?: net.Socket) => void,
      ) => {
        if (endpoint.kind === "unix") {
          return net.connect({ path: endpoint.socketPath });
        }
        connectPinned(endpoint, {
          host: options.host,
          port: Number(options.port),
        }).then(
          (tlsSocket) => callback(null, tlsSocket),
          (error: Error) => callback(error),
        );
        return undefined;
      }) as unknown as typeof net.createConnection,
    });

    options.setup?.(socket);
    return this.awaitOpen(socket, path);
  }

  private awaitOpen(socket: WebSocket, path: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const detach = () => {
        socket.removeListener("open", onOpen);
        socket.removeListener("error", onError);
        socket.removeListener("unexpected-response", onUnexpectedResponse);
        // Tearing down a half-open WebSocket emits one more error event,
        // which would crash the process without a listener.
        socket.on("error", () => {});
      };

      const onOpen = () => {
        socket.removeListener("error", onError);
        socket.removeListener("unexpected-response", onUnexpectedResponse);
        resolve(socket);
      };

      const onError = (error: Error) => {
        detach();
        if (error.message.startsWith("Opening handshake has timed out")) {
          lxdLog.warn(
            { endpoint: this.description, path, err: error },
            "LXD WebSocket handshake timed out",
          );
          reject(
            new ConsoleError(
              "timeout",
              `${this.description} did not accept a WebSocket connection within ${this.requestTimeoutMs / 1000} s.`,
              { cause: error },
            ),
          );
          return;
        }
        reject(transportError(this.endpoint, error));
      };

      // LXD rejected the upgrade, and its error response names the reason.
      const onUnexpectedResponse = (
        request: ClientRequest,
        response: IncomingMessage,
      ) => {
        detach();
        readBody(response).then(
          (text) => {
            request.destroy();
            socket.terminate();
            reject(upgradeError(response.statusCode ?? 0, text, path));
          },
          (error: Error) => reject(transportError(this.endpoint, error)),
        );
      };

      socket.once("open", onOpen);
      socket.on("error", onError);
      socket.once("unexpected-response", onUnexpectedResponse);
    });
  }

  /** Closes the client's connections. Later requests fail. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/**
 * Unwraps LXD's response envelope: returns sync metadata with the ETag or
 * the operation of an async response, and throws LxdError for an error
 * response or an HTTP error status.
 */
export function parseLxdResponse<T>(response: {
  statusCode: number;
  etag: string | null;
  text: string;
  method: string;
  path: string;
}): LxdResult<T> {
  const { statusCode, method, path } = response;
  let envelope: unknown;
  try {
    envelope = JSON.parse(response.text);
  } catch {
    envelope = undefined;
  }

  if (!isRecord(envelope)) {
    if (statusCode >= 400) {
      const text = response.text.trim();
      throw new LxdError({
        status: statusCode,
        lxdMessage: text === "" ? `HTTP ${statusCode}` : text.slice(0, 500),
        method,
        path,
      });
    }
    throw protocolError(
      `LXD returned a response that is not a JSON object (HTTP ${statusCode}).`,
      { method, path },
    );
  }

  if (envelope.type === "error" || statusCode >= 400) {
    const errorCode =
      typeof envelope.error_code === "number" && envelope.error_code > 0
        ? envelope.error_code
        : statusCode;
    const message =
      typeof envelope.error === "string" && envelope.error !== ""
        ? envelope.error
        : `HTTP ${statusCode}`;
    throw new LxdError({
      status: errorCode,
      lxdMessage: message,
      method,
      path,
    });
  }

  if (envelope.type === "sync") {
    return {
      type: "sync",
      metadata: envelope.metadata as T,
      etag: response.etag,
    };
  }

  if (envelope.type === "async") {
    const operation = envelope.metadata;
    if (!isRecord(operation) || typeof operation.id !== "string") {
      throw protocolError("LXD returned an operation without an id.", {
        method,
        path,
      });
    }
    return { type: "async", operation: operation as unknown as LxdOperation };
  }

  throw protocolError(
    `LXD returned the unknown response type ${JSON.stringify(envelope.type)}.`,
    { method, path },
  );
}

/**
 * Logs a response that breaks LXD's protocol with its request and returns
 * the error for users, which leaves the request path out.
 */
function protocolError(
  message: string,
  request: { method: string; path: string },
): ConsoleError {
  lxdLog.warn(request, message);
  return new ConsoleError("lxd_error", message);
}

function asSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function upgradeError(statusCode: number, text: string, path: string): Error {
  try {
    parseLxdResponse({ statusCode, etag: null, text, method: "GET", path });
  } catch (error) {
    return error as Error;
  }
  return protocolError(
    `LXD did not accept the WebSocket connection (HTTP ${statusCode}).`,
    { method: "GET", path },
  );
}

function withQuery(path: string, query: LxdQuery | undefined): string {
  if (!query) return path;

  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const search = params.toString();
  return search === "" ? path : `${path}?${search}`;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("error", reject);
  });
}
