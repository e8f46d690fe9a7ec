import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

import WebSocket, { WebSocketServer } from "ws";
import { z } from "zod";

import { authorize, getUserFromHeaders } from "@/lib/auth/request-user";
import { getDb, type Db } from "@/lib/db/client";
import { ConsoleError, errorStatus } from "@/lib/errors";
import { instanceKeySchema } from "@/lib/instances/schemas";
import { log } from "@/lib/log";
import { LxdError } from "@/lib/lxd";

import { vncRoute } from "./routes";
import { assertViewable, openView, type ViewRequest } from "./views";

const upgradeLog = log.child({ component: "vnc-upgrade" });

const VNC_PATH = vncRoute.pattern;

// noVNC's largest messages are clipboard pastes; 1 MiB leaves room for
// long texts while bounding what one client can make the server buffer.
const MAX_CLIENT_MESSAGE_BYTES = 1024 * 1024;

const viewQuerySchema = z.object({
  project: z.string().default("default"),
  view: z
    .string()
    .regex(
      /^[A-Za-z0-9-]{8,64}$/,
      "The view id is 8 to 64 letters, digits or hyphens, such as a UUID",
    ),
  mode: z.enum(["full", "tile"], "The mode is full or tile").default("full"),
});

const sockets = new WebSocketServer({
  noServer: true,
  maxPayload: MAX_CLIENT_MESSAGE_BYTES,
  // RFB data is mostly compressed already; deflate would only cost CPU.
  perMessageDeflate: false,
});

let acceptingViews = true;

/**
 * Rejects every later VNC upgrade with 503, as the console stops. The views
 * open until then are closed by the view registry.
 */
export function stopAcceptingViews(): void {
  acceptingViews = false;
}

/** Returns whether `url` is the VNC WebSocket route. */
export function isVncPath(url: string | undefined): boolean {
  return VNC_PATH.test(new URL(url ?? "/", "http://console.invalid").pathname);
}

/**
 * Handles an HTTP upgrade on the VNC route: checks the Origin, the session
 * cookie and the permission "session:view", and that the instance is a
 * running browser sandbox, all before the upgrade. A refusal is a plain HTTP
 * response (400, 401, 403, 404, 409, 502 or 503) with a JSON error body, and
 * the socket is closed without a WebSocket. Call only for isVncPath(url).
 */
export async function handleVncUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  db: Db = getDb(),
): Promise<void> {
  socket.on("error", (error) => {
    upgradeLog.debug({ err: error }, "VNC upgrade socket failed");
  });

  if (!acceptingViews) {
    rejectUpgrade(
      socket,
      new ConsoleError("shutting_down", "The console is stopping. Reconnect once it is back."),
    );
    return;
  }

  const received = performance.now();
  let viewRequest: ViewRequest;
  try {
    checkHandshake(request);
    viewRequest = await checkUpgrade(request);
  } catch (error) {
    rejectUpgrade(socket, error);
    return;
  }

  // RFC 6455 (section 4.1) allows a browser one WebSocket per host in the
  // CONNECTING state, so the time to the 101 response delays the sessions
  // wall's other tiles too.
  const acceptLogged = async () => {
    const webSocket = await accept(request, socket, head);
    upgradeLog.info(
      {
        key: viewRequest.key,
        viewId: viewRequest.viewId,
        mode: viewRequest.mode,
        acceptMs: Math.round(performance.now() - received),
      },
      "VNC upgrade accepted",
    );
    return webSocket;
  };

  try {
    await openView(db, viewRequest, acceptLogged);
  } catch (error) {
    // Before the upgrade this responds with HTTP; after it the bridge has
    // already closed the WebSocket with a reason.
    if (!socket.destroyed) rejectUpgrade(socket, error);
    upgradeLog.warn(
      { err: error, key: viewRequest.key, viewId: viewRequest.viewId },
      "VNC view did not open",
    );
  }
}

/**
 * Runs the checks of an upgrade for a plain GET on the VNC route and returns
 * JSON: 200 when a view would open, else the error the upgrade would get.
 * Browsers hide the status of a refused WebSocket handshake, so the viewer
 * asks here to show the reason.
 */
export async function handleVncCheck(
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  let status = 200;
  let body: unknown = { ok: true };
  try {
    await checkUpgrade(request);
  } catch (error) {
    const parts = errorResponseParts(error);
    status = parts.status;
    body = { error: { code: parts.code, message: parts.message } };
  }
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  response.end(JSON.stringify(body));
}

// A Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 section 4.1).
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Rejects a request that is not a valid WebSocket handshake, as ws would,
 * but before any audit row is written and with the console's JSON error.
 */
function checkHandshake(request: IncomingMessage): void {
  const problem = handshakeProblem(request);
  if (problem !== null) {
    throw new ConsoleError(
      "invalid_input",
      `Invalid WebSocket handshake: ${problem}. Open the view from the console's pages.`,
    );
  }
}

function handshakeProblem(request: IncomingMessage): string | null {
  if (request.method !== "GET") return `the method is ${request.method ?? "missing"}, not GET`;
  if (request.headers.upgrade?.toLowerCase() !== "websocket") {
    return 'the Upgrade header is not "websocket"';
  }
  if (!WEBSOCKET_KEY.test(request.headers["sec-websocket-key"] ?? "")) {
    return "the Sec-WebSocket-Key header is missing or not 16 bytes in base64";
  }
  const version = request.headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") return "the Sec-WebSocket-Version header is not 13";
  return null;
}

async function checkUpgrade(request: IncomingMessage): Promise<ViewRequest> {
  const url = new URL(request.url ?? "/", "http://console.invalid");
  const match = VNC_PATH.exec(url.pathname);
  if (!match) {
    throw new ConsoleError(
      "not_found",
      `No WebSocket route at ${url.pathname}. The VNC route is ` +
        "/api/hosts/{host}/instances/{name}/vnc?project={project}&view={id}.",
    );
  }

  const headers = toHeaders(request);
  checkOrigin(headers);

  const sourceAddress =
    headers.get("x-forwarded-for")?.trim().slice(0, 200) ||
    request.socket.remoteAddress ||
    null;
  const user = await authorize(
    await getUserFromHeaders(headers),
    vncRoute.permission,
    sourceAddress,
  );

  const query = viewQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) throw invalid(query.error);
  const key = instanceKeySchema.safeParse({
    host: decodeSegment(match[1] ?? ""),
    project: query.data.project,
    name: decodeSegment(match[2] ?? ""),
  });
  if (!key.success) throw invalid(key.error);

  await assertViewable(key.data, query.data.view, user.id);
  return {
    user,
    sourceAddress,
    key: key.data,
    viewId: query.data.view,
    mode: query.data.mode,
  };
}

/**
 * Refuses a cross-site upgrade. Browsers send the page's origin with every
 * WebSocket handshake and attach the session cookie whatever the origin, so
 * without this check another site could open a view in a signed-in user's
 * name. Clients that send no Origin are not browsers and are let through to
 * the session check.
 */
function checkOrigin(headers: Headers): void {
  const origin = headers.get("origin");
  if (origin === null) return;

  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = "";
  }
  const allowed = new Set<string>();
  const host = headers.get("host");
  if (host) allowed.add(host);
  const consoleUrl = process.env.SANDBOX_CONSOLE_URL;
  if (consoleUrl) {
    try {
      allowed.add(new URL(consoleUrl).host);
    } catch {
      // An invalid SANDBOX_CONSOLE_URL is reported by the auth setup.
    }
  }
  if (!allowed.has(originHost)) {
    throw new ConsoleError(
      "forbidden",
      `WebSocket from origin ${origin} refused: only pages of this console may open VNC views.`,
    );
  }
}

function accept(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new ConsoleError("invalid_input", "The browser closed the connection before the upgrade."));
      return;
    }
    let upgraded = false;
    sockets.handleUpgrade(request, socket, head, (webSocket) => {
      upgraded = true;
      webSocket.binaryType = "nodebuffer";
      resolve(webSocket);
    });
    // Without a verifyClient option, ws calls back before handleUpgrade
    // returns, or destroys the socket without a call (as for a browser that
    // closed its end during the checks). A pending promise would leave the
    // open audit row without an outcome and block the tile watch.
    if (!upgraded) {
      reject(
        new ConsoleError(
          "invalid_input",
          "The browser closed the connection or sent an invalid WebSocket handshake before the upgrade.",
        ),
      );
    }
  });
}

function rejectUpgrade(socket: Duplex, error: unknown): void {
  const { status, code, message } = errorResponseParts(error);
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Cache-Control: no-store\r\n" +
      "Connection: close\r\n\r\n" +
      body,
  );
}

function errorResponseParts(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof ConsoleError) {
    return { status: error.status, code: error.code, message: error.message };
  }
  if (error instanceof LxdError) {
    const notFound = error.status === 404;
    return {
      status: notFound ? 404 : 502,
      code: notFound ? "not_found" : "lxd_error",
      message: notFound ? "Instance not found on that host and project." : `LXD: ${error.message}`,
    };
  }
  upgradeLog.error({ err: error }, "unexpected error during a VNC upgrade");
  return {
    status: errorStatus.internal,
    code: "internal",
    message: "Internal error; the server log has the details.",
  };
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return texts[status] ?? "Error";
}

function toHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ConsoleError(
      "invalid_input",
      `The path segment "${segment}" is not valid percent-encoding.`,
    );
  }
}

function invalid(error: z.ZodError): ConsoleError {
  const issue = error.issues[0];
  const field = issue?.path.join(".") || "request";
  return new ConsoleError(
    "invalid_input",
    `Invalid ${field} in the VNC address: ${issue?.message ?? "bad value"}.`,
  );
}
