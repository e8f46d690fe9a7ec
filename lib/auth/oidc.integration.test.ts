import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { closeDb, type Db } from "@/lib/db/client";
import { auditEvents, user as userTable } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { startTestOidcProvider, type TestOidcProvider } from "@/test/harness/oidc-provider";

import { disableAccount } from "./accounts";
import { createAuth, type Auth } from "./auth";
import { getUserFromHeaders } from "./request-user";

// Signs in through a real OpenID Connect provider on 127.0.0.1: the
// console's Better Auth handler runs in this process, and the requests a
// browser would make are made with fetch and a cookie jar per site.

// Nothing listens here: the console's handler is called directly.
const consoleUrl = "http://127.0.0.1:3999";
const roleMap = "sandbox-admins=admin,helpdesk=support,audit=auditor";

let db: Db;
let provider: TestOidcProvider;
let auth: Auth;
const savedEnv = { ...process.env };

beforeAll(async () => {
  provider = await startTestOidcProvider({
    redirectUris: [`${consoleUrl}/api/auth/callback/oidc`],
    users: [
      { login: "ada", email: "ada@example.com", name: "Ada Admin", groups: ["staff", "sandbox-admins"] },
      { login: "sam", email: "sam@example.com", name: "Sam Support", groups: ["helpdesk", "audit"] },
      { login: "nina", email: "nina@example.com", name: "Nina Nobody", groups: ["staff"] },
    ],
  });
  Object.assign(process.env, {
    BETTER_AUTH_SECRET: "test-secret-that-is-long-enough-0123456789",
    SANDBOX_CONSOLE_URL: consoleUrl,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: provider.clientId,
    OIDC_CLIENT_SECRET: provider.clientSecret,
    OIDC_ROLE_MAP: roleMap,
  });
  db = await openTestDb();
  auth = createAuth(db);
});

afterAll(async () => {
  await closeDb(db);
  await provider.stop();
  process.env = savedEnv;
});

beforeEach(async () => {
  await truncateTables(db);
  provider.setGroups("ada", ["staff", "sandbox-admins"]);
  provider.setGroups("sam", ["helpdesk", "audit"]);
});

/** A minimal cookie jar: name=value pairs from Set-Cookie, sent back as they are. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const index = pair.indexOf("=");
      this.cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

/**
 * Signs `login` in as a browser would: starts the sign-in at the console,
 * fills in the provider's login form, and hands the code to the console's
 * callback. Returns where the console sends the browser, and its cookies.
 */
let clientNumber = 0;

async function signInWithProvider(login: string): Promise<{ location: string; consoleCookies: CookieJar }> {
  const consoleCookies = new CookieJar();
  const providerCookies = new CookieJar();

  // Sign-in is rate limited per client address, so each one comes from
  // another loopback address.
  clientNumber += 1;
  const clientAddress = `127.0.1.${clientNumber}`;
  const start = await auth.handler(
    new Request(`${consoleUrl}/api/auth/sign-in/social`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: consoleUrl, "x-forwarded-for": clientAddress },
      body: JSON.stringify({ provider: "oidc", callbackURL: "/instances", errorCallbackURL: "/login" }),
    }),
  );
  expect(start.status, "sign-in start").toBe(200);
  consoleCookies.take(start);
  let url = ((await start.json()) as { url: string }).url;
  expect(url.startsWith(`${provider.issuer}/`), `authorization URL ${url}`).toBe(true);

  // Follow the provider's redirects until it sends the browser back to the
  // console, posting the login form on the way.
  for (let step = 0; step < 10; step += 1) {
    if (url.startsWith(consoleUrl)) break;

    const response = await fetch(url, { redirect: "manual", headers: { cookie: providerCookies.header() } });
    providerCookies.take(response);

    if (response.status === 200) {
      const html = await response.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      expect(action, `login form in ${html.slice(0, 300)}`).toBeTruthy();

      const posted = await fetch(new URL(action!, url), {
        method: "POST",
        redirect: "manual",
        headers: { cookie: providerCookies.header(), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ prompt: "login", login, password: "any password" }),
      });
      providerCookies.take(posted);
      url = new URL(posted.headers.get("location")!, url).href;
      continue;
    }
    expect([302, 303], `provider step ${step} at ${url}`).toContain(response.status);
    url = new URL(response.headers.get("location")!, url).href;
  }
  expect(url.startsWith(`${consoleUrl}/api/auth/callback/oidc?`), `callback URL ${url}`).toBe(true);

  const callback = await auth.handler(
    new Request(url, { headers: { cookie: consoleCookies.header(), "x-forwarded-for": clientAddress } }),
  );
  expect(callback.status, "callback redirect").toBe(302);
  consoleCookies.take(callback);
  return { location: callback.headers.get("location") ?? "", consoleCookies };
}

async function userByEmail(email: string) {
  const [found] = await db.select().from(userTable).where(eq(userTable.email, email));
  return found;
}

async function auditRows(action: string) {
  return db.select().from(auditEvents).where(eq(auditEvents.action, action)).orderBy(asc(auditEvents.id));
}

describe("OpenID Connect sign-in", () => {
  it("creates an admin from the groups claim", async () => {
    const { location, consoleCookies } = await signInWithProvider("ada");

    expect(location).toBe("/instances");
    const current = await getUserFromHeaders(new Headers({ cookie: consoleCookies.header() }), auth);
    expect(current?.email).toBe("ada@example.com");
    expect(current?.role).toBe("admin");

    const [created] = await auditRows("user.create");
    expect(created?.actor).toBe("system:oidc");
    expect(created?.params).toEqual({ email: "ada@example.com", name: "Ada Admin", role: "admin", method: "oidc" });
    const [signIn] = await auditRows("auth.sign_in");
    expect(signIn?.result).toBe("success");
    expect(signIn?.params).toEqual({ method: "oidc" });
    expect((await userByEmail("ada@example.com"))?.lastSignInAt).not.toBeNull();
  });

  it("gives the highest mapped role", async () => {
    await signInWithProvider("sam");
    expect((await userByEmail("sam@example.com"))?.role).toBe("support");
  });

  it("rejects a user without a mapped group", async () => {
    const { location } = await signInWithProvider("nina");

    const url = new URL(location, consoleUrl);
    expect(url.pathname).toBe("/login");
    expect(url.searchParams.get("error")).toBe("no_console_role");
    expect(await userByEmail("nina@example.com")).toBeUndefined();

    const rows = await auditRows("auth.sign_in");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.result).toBe("failure");
    expect(rows[0]?.params).toEqual({
      method: "oidc",
      email: "nina@example.com",
      groups: ["staff"],
      reason: "no_console_role",
    });
    expect(rows[0]?.error).toContain("OIDC_ROLE_MAP");
    expect(rows[0]?.sourceAddress).toMatch(/^127\.0\.1\.\d+$/);
  });

  it("updates and audits the role at the next sign-in", async () => {
    await signInWithProvider("ada");
    provider.setGroups("ada", ["helpdesk"]);

    const { location, consoleCookies } = await signInWithProvider("ada");

    expect(location).toBe("/instances");
    const current = await getUserFromHeaders(new Headers({ cookie: consoleCookies.header() }), auth);
    expect(current?.role).toBe("support");
    const [sync] = await auditRows("user.role.sync");
    expect(sync?.params).toEqual({
      email: "ada@example.com",
      groups: ["helpdesk"],
      before: { role: "admin", sessionControl: false },
      after: { role: "support", sessionControl: false },
    });
  });

  it("writes no role sync when the role is unchanged", async () => {
    await signInWithProvider("sam");
    await signInWithProvider("sam");

    expect(await auditRows("user.role.sync")).toHaveLength(0);
    expect((await auditRows("auth.sign_in")).map((row) => row.result)).toEqual(["success", "success"]);
  });

  it("rejects a disabled account", async () => {
    await signInWithProvider("sam");
    const sam = await userByEmail("sam@example.com");
    await disableAccount(db, { actor: { system: "test" }, userId: null }, { userId: sam!.id });

    const { location } = await signInWithProvider("sam");

    expect(new URL(location, consoleUrl).searchParams.get("error")).toBe("account_disabled");
    const failures = (await auditRows("auth.sign_in")).filter((row) => row.result === "failure");
    expect(failures).toHaveLength(1);
    expect(failures[0]?.params).toMatchObject({ email: "sam@example.com", reason: "account_disabled" });
  });
});
