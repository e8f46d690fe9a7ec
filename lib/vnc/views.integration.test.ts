import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { and, asc, eq, gte, inArray } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { authFor } from "@/lib/auth/auth";
import type { ConsoleUser } from "@/lib/auth/permissions";
import { getUserFromHeaders } from "@/lib/auth/request-user";
import { createUser, setSessionControlGrant } from "@/lib/auth/users";
import { closeDb, getDb, type Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { replaceHosts } from "@/lib/hosts/registry";
import {
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

import { CONTROL_RECONNECT_GRACE_MS, getVncSessions } from "./sessions";
import { getTileWatches, TILE_WATCH_WINDOW_MS } from "./tile-watches";
import { vncSocketPath, type VncViewMode } from "./types";
import { handleVncUpgrade } from "./upgrade";
import { takeControl } from "./views";
import { settleOwedAuditRows } from "@/lib/audit/owed-rows";

const HOST = "test";
const password = "correct horse battery staple";

interface OpenedView {
  rfb: RfbSocketClient;
  socket: WebSocket;
}

describe.skipIf(lxdDaemon === null)(integrationTitle("VNC control and tile audit"), () => {
  const browser = uniqueInstanceName("vncr");
  const key = { host: HOST, project: "default", name: browser };
  const users: Record<string, { cookie: string; user: ConsoleUser }> = {};
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
      ["helper", "support"],
      ["watcher", "support"],
    ] as const) {
      const email = `${name}@example.com`;
      await createUser(db, { email, name, role, password });
      if (name === "helper") await setSessionControlGrant(db, email, true);
      const cookie = await signIn(db, email);
      const user = await getUserFromHeaders(new Headers({ cookie }), authFor(db));
      if (!user) throw new Error(`${email} has no session`);
      users[name] = { cookie, user };
    }

    await launchBrowserSandbox(browser);
    server = createServer((_request, response) => response.writeHead(404).end());
    server.on("upgrade", (request, socket, head) => {
      void handleVncUpgrade(request, socket, head, db);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  }, 600_000);

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await getVncSessions().closeAll(5_000);
    await getTileWatches().closeIdle();
    getVncSessions().controlGraceMs = CONTROL_RECONNECT_GRACE_MS;
    getTileWatches().windowMs = TILE_WATCH_WINDOW_MS;
  });

  afterAll(async () => {
    await deleteInstances([browser]);
    server?.close();
    await closeDb(getDb());
    await closeDb(db);
  }, 120_000);

  async function openView(name: string, viewId: string, mode: VncViewMode = "full") {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${vncSocketPath(key, viewId, mode)}`, {
      headers: { cookie: users[name]?.cookie ?? "" },
    });
    socket.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", (_request, response) =>
        reject(new Error(`The upgrade of ${viewId} was refused with ${response.statusCode}`)),
      );
      socket.once("error", reject);
    });
    sockets.push(socket);
    const rfb = new RfbSocketClient(socket);
    await rfb.handshake();
    return { rfb, socket } satisfies OpenedView;
  }

  async function takeControlOf(viewId: string) {
    await takeControl(db, {
      user: users.helper!.user,
      sourceAddress: "127.0.0.1",
      key,
      viewId,
    });
  }

  function waitForController(what: string, check: (state: ReturnType<typeof controller>) => boolean) {
    return waitFor(what, 15_000, async () => (check(controller()) ? true : null));
  }

  function controller() {
    return getVncSessions().state(key).controller;
  }

  /** Returns the release and resume rows of `viewId` written since `since`. */
  async function controlRows(since: Date, viewId: string) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(
        and(
          inArray(auditEvents.action, ["vnc.control.release", "vnc.control.resume"]),
          gte(auditEvents.at, since),
        ),
      )
      .orderBy(asc(auditEvents.id));
    // The previous test's cleanup may still be writing rows of its own view.
    return rows.filter((row) => row.params?.viewId === viewId);
  }

  it("keeps control across a lost connection", async () => {
    const since = new Date();
    const first = await openView("helper", "ctrl-view-0001");
    await openView("watcher", "watch-view-0001");
    await takeControlOf("ctrl-view-0001");

    // terminate() drops the TCP connection without a close frame, as a
    // network failure does.
    first.socket.terminate();
    await waitForController("control to wait for the reconnect", (state) =>
      Boolean(state?.disconnectedAt),
    );
    // Every viewer reads this state, so the watcher is still shown the controller.
    expect(controller()).toMatchObject({ userName: "helper", viewId: "ctrl-view-0001" });
    expect(getVncSessions().state(key).viewers.map((view) => view.viewId)).toEqual([
      "watch-view-0001",
    ]);

    const again = await openView("helper", "ctrl-view-0001");
    await waitForController("control to resume", (state) =>
      state?.viewId === "ctrl-view-0001" && state.disconnectedAt === undefined,
    );
    again.rfb.typeText("rcq");
    await waitFor("the resumed controller's keys in the page", 10_000, async () =>
      (await readDemoPageTitle(browser))?.includes("rcq") ? true : null,
    );

    const rows = await waitFor("the resume row", 5_000, async () => {
      const found = await controlRows(since, "ctrl-view-0001");
      return found.length > 0 ? found : null;
    });
    expect(rows.map((row) => row.action)).toEqual(["vnc.control.resume"]);
    expect(rows[0]?.params).toMatchObject({ viewId: "ctrl-view-0001", reason: "view reconnected" });
  });

  it("keeps control when the socat exec is killed", async () => {
    const since = new Date();
    await openView("helper", "ctrl-view-0002");
    await takeControlOf("ctrl-view-0002");

    await lxc(["exec", browser, "--", "pkill", "-x", "socat"]);
    await waitForController("control to wait for the reconnect", (state) =>
      Boolean(state?.disconnectedAt),
    );

    const again = await openView("helper", "ctrl-view-0002");
    expect(controller()?.disconnectedAt).toBeUndefined();
    again.rfb.typeText("rck");
    await waitFor("the resumed controller's keys in the page", 10_000, async () =>
      (await readDemoPageTitle(browser))?.includes("rck") ? true : null,
    );
    const rows = await waitFor("the resume row", 5_000, async () => {
      const found = await controlRows(since, "ctrl-view-0002");
      return found.length > 0 ? found : null;
    });
    expect(rows.map((row) => row.action)).toEqual(["vnc.control.resume"]);
  });

  it("releases control once the grace period ends", async () => {
    getVncSessions().controlGraceMs = 1_500;
    const since = new Date();
    const first = await openView("helper", "ctrl-view-0003");
    await takeControlOf("ctrl-view-0003");

    first.socket.terminate();
    await waitForController("control to wait for the reconnect", (state) =>
      Boolean(state?.disconnectedAt),
    );
    await waitForController("control to be released", (state) => state === null);

    const rows = await waitFor("the release row", 5_000, async () => {
      const found = await controlRows(since, "ctrl-view-0003");
      return found.length > 0 ? found : null;
    });
    expect(rows.map((row) => row.action)).toEqual(["vnc.control.release"]);
    expect(rows[0]?.params).toMatchObject({
      viewId: "ctrl-view-0003",
      reason: "controller did not reconnect in time",
    });
    expect(rows[0]?.durationMs).toBeGreaterThan(1_000);
  });

  it("releases control at once on a close on purpose", async () => {
    const since = new Date();
    const first = await openView("helper", "ctrl-view-0004");
    await takeControlOf("ctrl-view-0004");

    first.socket.close(1000);
    await waitForController("control to be released", (state) => state === null);
    const rows = await waitFor("the release row", 5_000, async () => {
      const found = await controlRows(since, "ctrl-view-0004");
      return found.length > 0 ? found : null;
    });
    expect(rows.map((row) => row.action)).toEqual(["vnc.control.release"]);
    expect(rows[0]?.params).toMatchObject({ reason: "view closed" });
  });

  it("writes open views' rows at shutdown", async () => {
    const since = new Date();
    const full = await openView("helper", "stop-view-0001");
    await takeControlOf("stop-view-0001");
    await openView("watcher", "stop-tile-0001", "tile");

    // As at shutdown when the execs did not end in time: the rows owed by
    // the open view and the tile watch are written at once.
    expect(await settleOwedAuditRows(0)).toBeGreaterThanOrEqual(2);
    const closeRows = async () =>
      (
        await db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.action, "vnc.view.close"), gte(auditEvents.at, since)))
      ).filter((row) => ["stop-view-0001", "stop-tile-0001"].includes(String(row.params?.viewId)));
    const stopped = await closeRows();
    expect(stopped.map((row) => row.params?.mode).sort()).toEqual(["full", "tile"]);
    expect(stopped.find((row) => row.params?.mode === "full")?.params).toMatchObject({
      reason: "console_stopped",
    });
    expect(stopped.find((row) => row.params?.mode === "tile")?.params).toMatchObject({
      reason: "console_stopped",
    });
    const released = await controlRows(since, "stop-view-0001");
    expect(released.map((row) => [row.action, row.params?.reason])).toEqual([
      ["vnc.control.release", "console stopped"],
    ]);

    // The views' own end afterwards writes no second close row.
    full.socket.close(1000);
    await getVncSessions().closeAll(5_000);
    await getTileWatches().closeIdle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await closeRows()).toHaveLength(2);
  });

  it("replaces a view whose old connection still looks open", async () => {
    const stale = await openView("helper", "ctrl-view-0005");
    await takeControlOf("ctrl-view-0005");
    const staleClosed = new Promise<void>((resolve) => stale.socket.once("close", () => resolve()));

    // A reconnect after a silent drop reaches the server before it has seen
    // the old connection end.
    const fresh = await openView("helper", "ctrl-view-0005");
    await staleClosed;
    expect(controller()).toMatchObject({ viewId: "ctrl-view-0005" });
    expect(controller()?.disconnectedAt).toBeUndefined();
    expect(getVncSessions().state(key).viewers).toHaveLength(1);

    fresh.rfb.typeText("rcz");
    await waitFor("the replacing view's keys in the page", 10_000, async () =>
      (await readDemoPageTitle(browser))?.includes("rcz") ? true : null,
    );
  });

  it("refuses another user's view id", async () => {
    await openView("helper", "ctrl-view-0006");
    await expect(openView("watcher", "ctrl-view-0006")).rejects.toThrow(/refused with 409/);
  });

  it("audits one tile watch across remounts", async () => {
    getTileWatches().windowMs = 3_000;
    const since = new Date();
    const tileRows = () =>
      db
        .select()
        .from(auditEvents)
        .where(
          and(
            inArray(auditEvents.action, ["vnc.view.open", "vnc.view.close"]),
            eq(auditEvents.instance, browser),
            gte(auditEvents.at, since),
          ),
        )
        .orderBy(asc(auditEvents.id));

    // A wall visit, a scroll away and back, and a re-render that mounts the
    // tile twice, each with a new view id.
    const first = await openView("watcher", "tile-view-0001", "tile");
    first.socket.close();
    const second = await openView("watcher", "tile-view-0002", "tile");
    const third = await openView("watcher", "tile-view-0003", "tile");
    second.socket.close();
    third.socket.close();
    // A full view stays audited on its own.
    const full = await openView("watcher", "full-view-0001");
    full.socket.close();

    await waitFor("the views to end", 10_000, async () =>
      getVncSessions().state(key).viewers.length === 0 ? true : null,
    );
    const beforeWindow = await tileRows();
    const tileOpens = beforeWindow.filter(
      (row) => row.action === "vnc.view.open" && row.params?.mode === "tile",
    );
    expect(tileOpens.map((row) => row.phase)).toEqual(["intent", "outcome"]);
    expect(
      beforeWindow.filter((row) => row.action === "vnc.view.close" && row.params?.mode === "tile"),
    ).toEqual([]);

    const closeRow = await waitFor("the tile watch's close row", 10_000, async () => {
      const rows = await tileRows();
      return rows.find((row) => row.action === "vnc.view.close" && row.params?.mode === "tile");
    });
    expect(closeRow.correlationId).toBe(tileOpens[0]?.correlationId);
    expect(closeRow.actor).toBe("watcher@example.com");
    expect(closeRow.params).toMatchObject({
      viewId: "tile-view-0001",
      connections: 3,
      failedConnections: 0,
    });
    expect(closeRow.params?.watchedMs).toEqual(expect.any(Number));
    expect(closeRow.durationMs).toBeGreaterThan(0);

    // The earlier tests' close rows may land after `since`, so the rows are
    // picked by view id.
    const all = await tileRows();
    expect(all.filter((row) => row.params?.mode === "tile")).toHaveLength(3);
    expect(
      all.filter((row) => row.params?.viewId === "full-view-0001").map((row) => row.action),
    ).toEqual(["vnc.view.open", "vnc.view.open", "vnc.view.close"]);
  });

  it("starts a new tile watch after the window", async () => {
    getTileWatches().windowMs = 500;
    const since = new Date();
    const first = await openView("watcher", "tile-view-0101", "tile");
    first.socket.close();
    await waitFor("the first watch to close", 10_000, async () =>
      getTileWatches().size === 0 ? true : null,
    );
    const second = await openView("watcher", "tile-view-0102", "tile");
    second.socket.close();
    await waitFor("the second watch to close", 10_000, async () =>
      getTileWatches().size === 0 ? true : null,
    );

    const closes = await waitFor("both close rows", 5_000, async () => {
      const rows = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, "vnc.view.close"), gte(auditEvents.at, since)))
        .orderBy(asc(auditEvents.id));
      return rows.length === 2 ? rows : null;
    });
    expect(closes.map((row) => row.params?.viewId)).toEqual(["tile-view-0101", "tile-view-0102"]);
  });
});

async function signIn(db: Db, email: string): Promise<string> {
  const response = await authFor(db).api.signInEmail({
    body: { email, password },
    asResponse: true,
  });
  if (!response.ok) throw new Error(`sign-in of ${email} failed with ${response.status}`);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}
