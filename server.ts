// The console's HTTP server: Next.js for pages, actions and API routes, plus
// the WebSocket upgrade of the VNC route, which Next's route handlers cannot
// accept. Run it with `npm start` after `npm run build` (scripts/up.sh does
// both), or `npm run dev` for development.
//
//   server.ts [--dev] [--hostname 127.0.0.1] [--port 3000]

import { createServer } from "node:http";
import { parseArgs } from "node:util";

import next from "next";

import { settleOwedAuditRows } from "@/lib/audit/owed-rows";
import { startAuditWitness } from "@/lib/audit/witness";
import { getDb } from "@/lib/db/client";
import { startHostServices } from "@/lib/hosts/startup";
import { readOidcConfig } from "@/lib/auth/oidc-config";
import { log } from "@/lib/log";
import { watchEventLoop, watchRequest } from "@/lib/request-watch";
import { getVncSessions } from "@/lib/vnc/sessions";
import { getTileWatches } from "@/lib/vnc/tile-watches";
import { handleVncCheck, handleVncUpgrade, isVncPath, stopAcceptingViews } from "@/lib/vnc/upgrade";

const serverLog = log.child({ component: "server" });

// In-flight requests get this long to finish after SIGTERM or SIGINT.
const SHUTDOWN_GRACE_MS = 8_000;
// Within the grace, VNC views get this long to end their execs, and then
// audit rows still owed get this long before they are written at once.
const VIEW_CLOSE_WAIT_MS = 3_000;
const OWED_ROWS_WAIT_MS = 2_000;

function parseOptions(): { dev: boolean; hostname: string; port: number } {
  const { values } = parseArgs({
    options: {
      dev: { type: "boolean", default: false },
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: process.env.PORT ?? "3000" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`--port ${values.port} is not a TCP port number; use 1 to 65535.`);
  }
  return { dev: values.dev, hostname: values.hostname, port };
}

async function main(): Promise<void> {
  const { dev, hostname, port } = parseOptions();
  // Invalid OIDC_ variables stop the start here, not at the first sign-in.
  readOidcConfig();
  // On its first request Next adds its own "upgrade" listener to the server
  // named here, and that listener takes every upgrade, the VNC route's
  // included. It gets a server that never listens, and the real server
  // below passes Next only the upgrades that are not VNC views.
  const decoyServer = createServer();
  const app = next({ dev, hostname, port, dir: process.cwd(), httpServer: decoyServer });
  await app.prepare();
  const handleRequest = app.getRequestHandler();

  const server = createServer((request, response) => {
    watchRequest(request, response, serverLog);
    if (request.method === "GET" && isVncPath(request.url)) {
      void handleVncCheck(request, response);
      return;
    }
    void handleRequest(request, response);
  });
  server.on("upgrade", (request, socket, head) => {
    if (isVncPath(request.url)) {
      void handleVncUpgrade(request, socket, head);
    } else if (decoyServer.listenerCount("upgrade") > 0) {
      // Next's own upgrades, such as hot reloading in development, go to the
      // listener it put on the decoy. (getUpgradeHandler() skips the router
      // that serves hot reloading.)
      decoyServer.emit("upgrade", request, socket, head);
    } else {
      socket.destroy();
    }
  });

  // The hosts added in the console are loaded before the first request, so
  // the fleet watcher and the audit log's ingestion of LXD events (changes
  // made with lxc or other clients) cover them from the start.
  await startHostServices();
  // The chain's newest row is written to a file outside the database now
  // and every few minutes, so verification can show rows cut from the end.
  const stopAuditWitness = startAuditWitness(getDb());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, resolve);
  });
  serverLog.info({ url: `http://${hostname}:${port}`, dev }, "console listening");
  watchEventLoop(serverLog);

  const shutdown = (signal: string) => {
    serverLog.info({ signal }, "shutting down");
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // First, VNC views end their execs and write their audit rows, and tile
    // watches write theirs without waiting out their window. Actions still
    // running, and views whose exec did not end, get 2 s more, and then
    // their owed rows are written at once. Then the event streams, which
    // keep close() waiting, are cut. The process exits only after all that, because close() alone
    // returns at once when no browser is connected.
    stopAcceptingViews();
    void getVncSessions()
      .closeAll(VIEW_CLOSE_WAIT_MS)
      .then(() => getTileWatches().closeIdle())
      .then(() => settleOwedAuditRows(OWED_ROWS_WAIT_MS))
      .then((forced) => {
        if (forced > 0) {
          serverLog.warn({ entries: forced }, "wrote owed audit rows early because the console is stopping");
        }
      })
      .then(() => stopAuditWitness())
      .finally(() => {
        server.closeAllConnections();
        void closed.then(() => process.exit(0));
      });
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  serverLog.fatal({ err: error }, "console failed to start");
  process.exitCode = 1;
});
