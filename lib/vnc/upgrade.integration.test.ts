import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createConnection, type AddressInfo } from "node:net";

import { and, asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { authFor } from "@/lib/auth/auth";
import type { ConsoleUser } from "@/lib/auth/permissions";
import { getUserFromHeaders } from "@/lib/auth/request-user";
import { createUser, setSessionControlGrant } from "@/lib/auth/users";
import { closeDb, getDb, type Db } from "@/lib/db/client";
import { auditEvents, session as sessionTable } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { replaceHosts } from "@/lib/hosts/registry";
import {
  countSocat,
  launchBrowserSandbox,
  readDemoPageTitle,
  RfbSocketClient,
  waitFor,
} from "@/test/harness/browser-sandbox";
import {
  deleteInstances,
  integrationTitle,
  lxc,
  lxdDaemon,
  requireDaemon,
  uniqueInstanceName,
} from "@/test/harness/lxd-test-context";

import { getVncSessions } from "./sessions";
import { vncSocketPath } from "./types";
import { handleVncCheck, handleVncUpgrade, isVncPath } from "./upgrade";
import { takeControl } from "./views";

const HOST = "test";
const password = "correct horse battery staple";

type Connection =
  | { kind: "open"; socket: WebSocket }
  | { kind: "refused"; status: number; body: { error: { code: string; message: string } } };

describe.skipIf(lxdDaemon === null)(integrationTitle("VNC WebSocket route"), () => {
  const browser = uniqueInstanceName("vncw");
  const stoppedBrowser = uniqueInstanceName("vncs");
  const key = { host: HOST, project: "default", name: browser };
  const users: Record<string, { headers: Headers; user: ConsoleUser }> = {};
  const sockets: WebSocket[] = [];
  let db: Db;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const daemon = requireDaemon();
    db = await openTestDb();
    await truncateTables(db);
    replaceHosts([
      { id: HOST, name: "Test LXD", endpoint: { kind: "unix", socketPath: daemon.socketPath } },
    ]);

    for (const [name, role] of [
      ["admin", "admin"],
      ["helper", "support"],
      ["watcher", "support"],
      ["auditor", "auditor"],
    ] as const) {
      const email = `${name}@example.com`;
      await createUser(db, { email, name, role, password });
      if (name === "helper") await setSessionControlGrant(db, email, true);
      const headers = await signIn(db, email);
      const user = await getUserFromHeaders(headers, authFor(db));
      if (!user) throw new Error(`${email} has no session`);
      users[name] = { headers, user };
    }

    await launchBrowserSandbox(browser);
    await lxc(["init", "sandbox-browser", stoppedBrowser, "--profile", "default", "--profile", "sandbox"]);

    server = createServer((request, response) => {
      if (isVncPath(request.url)) void handleVncCheck(request, response);
      else response.writeHead(404).end();
    });
    server.on("upgrade", (request, socket, head) => {
      void handleVncUpgrade(request, socket, head, db);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  }, 600_000);

  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await getVncSessions().closeAll(5_000);
    await deleteInstances([browser, stoppedBrowser]);
    server?.close();
    await closeDb(getDb());
    await closeDb(db);
  }, 120_000);

  function connect(path: string, headers: Record<string, string> = {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
      socket.binaryType = "nodebuffer";
      socket.once("open", () => {
        sockets.push(socket);
        resolve({ kind: "open", socket });
      });
      socket.once("unexpected-response", (_request, response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () =>
          resolve({
            kind: "refused",
            status: response.statusCode ?? 0,
            body: JSON.parse(text) as Extract<Connection, { kind: "refused" }>["body"],
          }),
        );
      });
      socket.once("error", reject);
    });
  }

  function cookieOf(name: string): Record<string, string> {
    return { cookie: users[name]?.headers.get("cookie") ?? "" };
  }

  async function refusal(path: string, headers: Record<string, string>) {
    const result = await connect(path, headers);
    if (result.kind === "open") throw new Error(`${path} was upgraded`);
    return result;
  }

  async function openView(name: string, viewId: string) {
    const result = await connect(vncSocketPath(key, viewId, "full"), cookieOf(name));
    if (result.kind !== "open") throw new Error(`refused: ${JSON.stringify(result.body)}`);
    const rfb = new RfbSocketClient(result.socket);
    const init = await rfb.handshake();
    return { rfb, init, socket: result.socket };
  }

  it("refuses an upgrade without a session", async () => {
    const result = await refusal(vncSocketPath(key, "view-0001", "full"), {});
    expect(result.status).toBe(401);
    expect(result.body.error.code).toBe("unauthenticated");
  });

  it("refuses an upgrade with an expired session", async () => {
    const headers = await signIn(db, "watcher@example.com");
    const token = decodeURIComponent(headers.get("cookie")?.match(/session_token=([^;.]+)/)?.[1] ?? "");
    await db
      .update(sessionTable)
      .set({ expiresAt: new Date(Date.now() - 60_000) })
      .where(eq(sessionTable.token, token));

    const result = await refusal(vncSocketPath(key, "view-0002", "full"), {
      cookie: headers.get("cookie") ?? "",
    });
    expect(result.status).toBe(401);
  });

  it("refuses an unknown host, a bad view id and a cross-site origin", async () => {
    const unknown = await refusal(
      vncSocketPath({ ...key, host: "elsewhere" }, "view-0003", "full"),
      cookieOf("admin"),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('Unknown host "elsewhere"');

    const badView = await refusal(vncSocketPath(key, "x", "full"), cookieOf("admin"));
    expect(badView.status).toBe(400);
    expect(badView.body.error.message).toContain("view");

    const crossSite = await refusal(vncSocketPath(key, "view-0004", "full"), {
      ...cookieOf("admin"),
      origin: "https://attacker.example",
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.message).toContain("https://attacker.example");
  });

  it("says why a stopped instance or a missing one has no view", async () => {
    const stopped = await refusal(
      vncSocketPath({ ...key, name: stoppedBrowser }, "view-0005", "full"),
      cookieOf("admin"),
    );
    expect(stopped.status).toBe(409);
    expect(stopped.body.error.message).toContain("stopped; start it");

    const missing = await refusal(
      vncSocketPath({ ...key, name: "no-such-sandbox" }, "view-0006", "full"),
      cookieOf("admin"),
    );
    expect(missing.status).toBe(404);
  });

  it("answers a plain GET with the upgrade's checks", async () => {
    const check = async (path: string, headers: Record<string, string>) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const stoppedPath = vncSocketPath({ ...key, name: stoppedBrowser }, "view-0007", "full");

    expect((await check(stoppedPath, {})).status).toBe(401);
    const stopped = await check(stoppedPath, cookieOf("admin"));
    expect(stopped.status).toBe(409);
    expect(JSON.stringify(stopped.body)).toContain("stopped; start it");
    const running = await check(vncSocketPath(key, "view-0008", "full"), cookieOf("admin"));
    expect(running).toEqual({ status: 200, body: { ok: true } });
  });

  it("relays RFB to two viewers at once and audits each view", async () => {
    const first = await openView("admin", "view-a-0001");
    const second = await openView("watcher", "view-b-0001");
    expect(first.init.banner).toBe("RFB 003.008\n");
    expect(second.init).toMatchObject({ width: 1440, height: 900 });
    expect(getVncSessions().state(key).viewers.map((v) => v.userName).sort()).toEqual([
      "admin",
      "watcher",
    ]);

    first.socket.close();
    second.socket.close();
    await waitFor("the views to close", 10_000, async () =>
      getVncSessions().state(key).viewers.length === 0 ? true : null,
    );
    await waitFor("socat to exit in the sandbox", 10_000, async () =>
      (await countSocat(browser)) === 0 ? true : null,
    );

    const rows = await waitFor("the close rows", 5_000, async () => {
      const found = await db
        .select()
        .from(auditEvents)
        .where(inArray(auditEvents.action, ["vnc.view.open", "vnc.view.close"]))
        .orderBy(asc(auditEvents.id));
      return found.filter((row) => row.action === "vnc.view.close").length === 2 ? found : null;
    });
    const opened = rows.filter((row) => row.action === "vnc.view.open" && row.phase === "outcome");
    expect(opened.map((row) => row.result)).toEqual(["success", "success"]);
    const closed = rows.filter((row) => row.action === "vnc.view.close");
    for (const row of closed) {
      expect(row.instance).toBe(browser);
      expect(row.sourceAddress).toBe("127.0.0.1");
      expect(row.durationMs).toBeGreaterThan(0);
      expect(row.params).toMatchObject({ reason: "client_closed" });
      // The close row shares the open rows' correlation id.
      expect(opened.map((o) => o.correlationId)).toContain(row.correlationId);
    }
  });

  it("keeps view-only input out of the sandbox until control is taken", async () => {
    const view = await openView("helper", "view-c-0001");
    view.rfb.typeText("zqv");
    // The view-only keys would have reached the page well within this time.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await readDemoPageTitle(browser)).not.toContain("zqv");

    const helper = users.helper!;
    await takeControl(db, {
      user: helper.user,
      sourceAddress: "127.0.0.1",
      key,
      viewId: "view-c-0001",
    });
    expect(getVncSessions().state(key).controller).toMatchObject({ userName: "helper" });
    view.rfb.typeText("jxk");
    await waitFor("the controller's keys in the page", 10_000, async () =>
      (await readDemoPageTitle(browser))?.includes("jxk") ? true : null,
    );

    view.socket.close();
    await waitFor("the control release row", 10_000, async () => {
      const [row] = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, "vnc.control.release"), eq(auditEvents.result, "success")));
      return row ?? null;
    });
  });

  it("rejects a malformed handshake unaudited", async () => {
    const path = vncSocketPath(key, "view-bad-key-0001", "full");
    const raw = createConnection({ host: "127.0.0.1", port });
    const reply = new Promise<string>((resolve) => {
      let text = "";
      raw.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      raw.on("close", () => resolve(text));
    });
    raw.write(
      `GET ${path} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n` +
        `Cookie: ${cookieOf("admin").cookie}\r\n` +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: not-a-key\r\n" +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    );

    const text = await reply;
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain("Sec-WebSocket-Key");
    const rows = await db.select().from(auditEvents).where(eq(auditEvents.action, "vnc.view.open"));
    expect(rows.filter((row) => row.params?.viewId === "view-bad-key-0001")).toEqual([]);
  });

  it("opens a tile after an aborted one", async () => {
    // A tile that unmounts during the upgrade checks closes its socket. The
    // console must fail that connection, because the tile watch it started
    // would otherwise block every later tile of the same user.
    const leftPath = vncSocketPath(key, "view-left-0001", "tile");
    const raw = createConnection({ host: "127.0.0.1", port });
    raw.on("error", () => undefined);
    raw.end(
      `GET ${leftPath} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n` +
        `Cookie: ${cookieOf("watcher").cookie}\r\n` +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    );
    const failed = await waitFor("the failed open row of the tile that left", 15_000, async () => {
      const rows = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, "vnc.view.open"), eq(auditEvents.phase, "outcome")));
      return rows.find((row) => (row.params as { viewId?: string }).viewId === "view-left-0001") ?? null;
    });
    expect(failed.result).toBe("failure");
    expect(failed.error).toContain("closed the connection");

    const next = await connect(vncSocketPath(key, "view-next-0001", "tile"), cookieOf("watcher"));
    if (next.kind !== "open") throw new Error(`rejected: ${JSON.stringify(next.body)}`);
    const init = await new RfbSocketClient(next.socket).handshake();
    expect(init).toMatchObject({ width: 1440, height: 900 });
    next.socket.close();
  });

  it("refuses control to roles and users without the grant, and audits the refusal", async () => {
    await openView("watcher", "view-d-0001");
    for (const name of ["watcher", "auditor"]) {
      const error = await takeControl(db, {
        user: users[name]!.user,
        sourceAddress: "127.0.0.1",
        key,
        viewId: "view-d-0001",
      }).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConsoleError);
      expect((error as ConsoleError).code).toBe("forbidden");
    }
    expect(getVncSessions().state(key).controller).toBeNull();

    const refused = await db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.result, "refused"));
    expect(refused.map((row) => row.params)).toEqual([
      expect.objectContaining({ permission: "session:control", role: "support" }),
      expect.objectContaining({ permission: "session:control", role: "auditor" }),
    ]);
  });
});

async function signIn(db: Db, email: string): Promise<Headers> {
  const response = await authFor(db).api.signInEmail({
    body: { email, password },
    asResponse: true,
  });
  if (!response.ok) throw new Error(`sign-in of ${email} failed with ${response.status}`);
  const cookie = response.headers.getSetCookie().map((line) => line.split(";")[0]);
  return new Headers({ cookie: cookie.join("; ") });
}
