import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { expect, test, type BrowserContext } from "@playwright/test";
import postgres from "postgres";
import WebSocket from "ws";

import { can, type Role } from "@/lib/auth/permissions";
import { testDatabaseUrl } from "@/lib/db/test-database";
import { websocketRoutes } from "@/lib/vnc/routes";

import { e2ePort } from "../playwright.config";
import { accessTable, segmentValues, type AccessEntry } from "./support/access-table";
import { e2eAccounts } from "./support/accounts";

// Enumerates every page, route handler, server action and WebSocket route
// from the source and the build, then checks each role's outcome against the
// one table in support/access-table.ts and the role grants in
// lib/auth/permissions.ts.

const root = path.resolve(import.meta.dirname, "..");
const baseUrl = `http://127.0.0.1:${e2ePort}`;
const DENIED_TEXT = "does not allow";
const SIGNED_OUT_TEXT = "not signed in";

type Who = "anonymous" | Role;
const everyone: Who[] = ["anonymous", "admin", "support", "auditor"];

interface EntryPoint {
  id: string;
  kind: "PAGE" | "ROUTE" | "ACTION" | "WS";
  method: string;
  /** Path with [segments], as in the access table. */
  pattern: string;
  /** For actions: the build's action id and a page path that serves it. */
  actionId?: string;
  actionPage?: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** Turns app/(group)/a/[b]/page.tsx into /a/[b]. */
function routePattern(file: string): string {
  const segments = path
    .relative(path.join(root, "app"), path.dirname(file))
    .split(path.sep)
    .filter((segment) => segment !== "" && !/^\(.*\)$/.test(segment));
  return `/${segments.join("/")}`;
}

function concretePath(pattern: string): string {
  return pattern.replace(/\[([^\]]+)\]/g, (_, name: string) => {
    const value = segmentValues[name];
    if (value === undefined) throw new Error(`No value for the segment [${name}] in ${pattern}`);
    return value;
  });
}

function findEntryPoints(): EntryPoint[] {
  const files = walk(path.join(root, "app"));
  const points: EntryPoint[] = [];

  for (const file of files.filter((f) => f.endsWith("/page.tsx"))) {
    const pattern = routePattern(file);
    points.push({ id: `PAGE ${pattern}`, kind: "PAGE", method: "GET", pattern });
  }

  for (const file of files.filter((f) => f.endsWith("/route.ts"))) {
    const source = readFileSync(file, "utf8");
    const methods = new Set<string>();
    for (const match of source.matchAll(/export\s+(?:async\s+function|const)\s+(GET|POST|PUT|PATCH|DELETE)\b/g)) {
      methods.add(match[1] ?? "");
    }
    for (const match of source.matchAll(/export\s+const\s+\{([^}]+)\}/g)) {
      for (const name of (match[1] ?? "").split(",").map((part) => part.trim())) {
        if (/^(GET|POST|PUT|PATCH|DELETE)$/.test(name)) methods.add(name);
      }
    }
    const pattern = routePattern(file);
    for (const method of methods) {
      points.push({ id: `${method} ${pattern}`, kind: "ROUTE", method, pattern });
    }
  }

  const manifest = JSON.parse(
    readFileSync(path.join(root, ".next/server/server-reference-manifest.json"), "utf8"),
  ) as { node: Record<string, { filename: string; exportedName: string; workers: Record<string, unknown> }> };
  for (const file of files.filter((f) => /\.tsx?$/.test(f))) {
    const source = readFileSync(file, "utf8");
    if (!/^\s*["']use server["'];/.test(source)) continue;
    const relative = path.relative(root, file);
    for (const match of source.matchAll(/export\s+async\s+function\s+(\w+)/g)) {
      const name = match[1] ?? "";
      const built = Object.entries(manifest.node).find(
        ([, action]) => action.filename === relative && action.exportedName === name,
      );
      const worker = built ? Object.keys(built[1].workers)[0] : undefined;
      points.push({
        id: `ACTION ${relative}#${name}`,
        kind: "ACTION",
        method: "POST",
        pattern: relative,
        actionId: built?.[0],
        actionPage: worker ? concretePath(routePattern(path.join(root, `${worker}.tsx`))) : undefined,
      });
    }
  }

  for (const route of websocketRoutes) {
    points.push({ id: `WS ${route.path}`, kind: "WS", method: "GET", pattern: route.path });
  }
  return points;
}

function expectedOutcome(entry: AccessEntry, who: Who): "allowed" | "unauthenticated" | "forbidden" {
  if (entry.requires === "public") return "allowed";
  if (who === "anonymous") return "unauthenticated";
  if (entry.requires === "signed-in") return "allowed";
  return can(who, entry.requires) ? "allowed" : "forbidden";
}

const entryPoints = findEntryPoints();
const cookies = new Map<Who, string>([["anonymous", ""]]);

async function signIn(email: string, password: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const response = await fetch(`${baseUrl}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: baseUrl },
      body: JSON.stringify({ email, password }),
    });
    if (response.status === 429) {
      // Sign-in is rate limited per client address; wait for the window.
      const seconds = Number(response.headers.get("x-retry-after") ?? "10");
      await new Promise((resolve) => setTimeout(resolve, (seconds + 1) * 1000));
      continue;
    }
    expect(response.status, `sign-in of ${email}`).toBe(200);
    return response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ");
  }
  throw new Error(`Sign-in of ${email} stayed rate limited`);
}

/** Calls one entry point as `who` and returns the status and body text. */
async function call(
  point: EntryPoint,
  who: Who,
  input?: unknown,
): Promise<{ status: number; text: string; location?: string | null }> {
  const cookie = cookies.get(who) ?? "";
  const headers: Record<string, string> = { origin: baseUrl };
  if (cookie) headers.cookie = cookie;

  if (point.kind === "WS") {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl.replace("http", "ws")}${concretePath(point.pattern)}?view=authz-${who}-0001`, {
        headers,
      });
      socket.once("open", () => {
        socket.close();
        resolve({ status: 101, text: "" });
      });
      socket.once("unexpected-response", (_request, response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      });
      socket.once("error", reject);
    });
  }

  const abort = new AbortController();
  let url = `${baseUrl}${concretePath(point.pattern)}`;
  let body: string | undefined;
  if (point.kind === "ACTION") {
    url = `${baseUrl}${point.actionPage ?? "/"}`;
    headers["next-action"] = point.actionId ?? "";
    headers["content-type"] = "text/plain;charset=UTF-8";
    headers.accept = "text/x-component";
    body = JSON.stringify([input]);
  } else if (point.method !== "GET") {
    headers["content-type"] = "application/json";
    body = "{}";
  }

  const response = await fetch(url, { method: point.method, headers, body, redirect: "manual", signal: abort.signal });
  let text = "";
  if (response.headers.get("content-type")?.includes("text/event-stream")) {
    // An event stream never ends by itself, so its status and headers are
    // the whole result.
    abort.abort();
  } else {
    text = await response.text();
  }
  return { status: response.status, text, location: response.headers.get("location") };
}

// Chromium on a busy CI machine once left the close of a context unanswered
// for over 75 s, after every check of the page had passed, and the test
// timed out. The close is bounded, and a context left open goes with the
// browser at the end of the worker.
const CONTEXT_CLOSE_LIMIT_MS = 15_000;

/** Closes `context` and its pages, or gives up with a warning after `limitMs`. */
async function closeWithin(context: BrowserContext, limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = (async () => {
    for (const page of context.pages()) await page.close({ runBeforeUnload: false });
    await context.close();
    return true;
  })();
  // A close that fails after the limit is ignored, because the test has moved on.
  closed.catch(() => undefined);
  const gaveUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), limitMs);
  });
  const done = await Promise.race([closed, gaveUp]);
  clearTimeout(timer);
  if (!done) console.warn(`Closing a browser context took over ${limitMs} ms; left it open`);
}

test.describe("authorization matrix", () => {
  test.beforeAll(async () => {
    for (const role of ["admin", "support", "auditor"] as const) {
      const account = e2eAccounts[role];
      cookies.set(role, await signIn(account.email, account.password));
    }
  });

  test("lists every entry point of the code in the access table", () => {
    const found = entryPoints.map((point) => point.id).sort();
    expect(found, "entry points found in app/ and lib/vnc/routes.ts").toEqual(
      Object.keys(accessTable).sort(),
    );
    for (const point of entryPoints.filter((p) => p.kind === "ACTION")) {
      expect(point.actionId, `${point.id} is in the build's action manifest`).toBeTruthy();
    }
  });

  for (const point of entryPoints) {
    test(`${point.id} by role`, async ({ browser }) => {
      const entry = accessTable[point.id];
      expect(entry, `${point.id} has a row in the access table`).toBeDefined();
      if (!entry) return;

      for (const who of everyone) {
        const expected = expectedOutcome(entry, who);
        const input = expected === "allowed" ? {} : entry.validInput;
        const { status, text, location } = await call(point, who, input);
        const label = `${point.id} as ${who} (expected ${expected})`;

        if (point.kind === "PAGE") {
          if (expected === "unauthenticated") {
            expect(status, label).toBe(307);
          } else {
            expect([200, 307], label).toContain(status);
            expect(location ?? "", label).not.toMatch(/^\/login/);
          }
          // The refusal is streamed after the layout, so its status stays
          // 200; and every page's payload carries the forbidden page's tree
          // unrendered. What the user sees is the check.
          // An empty storage state, or the project's admin cookies would
          // come with every context.
          const context = await browser.newContext({
            baseURL: baseUrl,
            storageState: { cookies: [], origins: [] },
          });
          try {
            const jar = (cookies.get(who) ?? "").split("; ").filter(Boolean);
            await context.addCookies(
              jar.map((pair) => {
                const [name = "", ...rest] = pair.split("=");
                return { name, value: rest.join("="), url: baseUrl };
              }),
            );
            const page = await context.newPage();
            await page.goto(concretePath(point.pattern));
            await page.waitForLoadState("load");
            const notAllowed = page.getByRole("heading", { name: "Not allowed" });
            if (expected === "unauthenticated") {
              await expect(page, label).toHaveURL(/\/login\?next=/);
            } else if (expected === "forbidden") {
              await expect(notAllowed, label).toBeVisible();
              await expect(page.getByText(DENIED_TEXT), label).toBeVisible();
            } else {
              // Signed in and shown the page itself: the header's sign-out
              // button is there, and no refusal.
              // A page may have its own Email field, such as the accounts
              // page's form, so the first match is enough.
              const shown = page.getByRole("button", { name: "Sign out", exact: true }).or(page.getByLabel("Email"));
              await expect(shown.first(), label).toBeVisible();
              await expect(page, label).not.toHaveURL(/\/login\?next=/);
              await expect(notAllowed, label).toHaveCount(0);
            }
          } finally {
            await closeWithin(context, CONTEXT_CLOSE_LIMIT_MS);
          }
        } else if (point.kind === "ACTION") {
          if (expected === "unauthenticated") {
            // The sign-in redirect of proxy.ts, or the action's own refusal.
            const refused = text.includes(SIGNED_OUT_TEXT) || text.startsWith("/login?next=");
            expect(refused, `${label}: ${text.slice(0, 200)}`).toBe(true);
          }
          if (expected === "forbidden") expect(text, label).toContain(DENIED_TEXT);
          if (expected === "allowed") {
            expect(text, label).not.toContain(DENIED_TEXT);
            expect(text, label).not.toContain(SIGNED_OUT_TEXT);
            // Past the permission check, the invalid input is reported.
            if (entry.validInput !== undefined) expect(text, label).toContain('"ok":false');
          }
        } else {
          const statuses = { unauthenticated: [401], forbidden: [403] } as const;
          if (expected === "allowed") {
            expect([401, 403], label).not.toContain(status);
          } else {
            expect(statuses[expected], label).toContain(status);
          }
        }
      }
    });
  }

  test("records refused requests in the audit log", async () => {
    const sql = postgres(testDatabaseUrl(), { max: 1 });
    try {
      const rows = await sql<{ actor: string; permission: string }[]>`
        select actor, params->>'permission' as permission from audit_events
        where result = 'refused' and action = 'auth.permission_check'`;
      const refused = new Set(rows.map((row) => `${row.actor} ${row.permission}`));
      for (const point of entryPoints) {
        const entry = accessTable[point.id];
        if (!entry || entry.requires === "public" || entry.requires === "signed-in") continue;
        for (const role of ["admin", "support", "auditor"] as const) {
          if (can(role, entry.requires)) continue;
          const actor = [...refused].find((line) => line.includes(e2eAccounts[role].email) && line.endsWith(entry.requires));
          expect(actor, `a refusal row for ${role} on ${point.id}`).toBeDefined();
        }
      }
    } finally {
      await sql.end();
    }
  });
});
