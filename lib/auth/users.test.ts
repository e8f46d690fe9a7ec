import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { asc, eq } from "drizzle-orm";
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from "vitest";
import { closeDb, type Db } from "@/lib/db/client";
import { auditEvents, user as userTable } from "@/lib/db/schema";
import { openTestDb, truncateTables } from "@/lib/db/test-database";
import { ConsoleError } from "@/lib/errors";
import { authFor, loadAuthSecret } from "./auth";
import { getUserFromHeaders } from "./request-user";
import {
  createUser,
  DEFAULT_ADMIN_EMAIL,
  ensureFirstAdmin,
  resetAdminPassword,
  setSessionControlGrant,
} from "./users";

const password = "correct horse battery staple";
let db: Db;

beforeAll(async () => {
  process.env.BETTER_AUTH_SECRET = "test-secret-that-is-long-enough-0123456789";
  delete process.env.SANDBOX_CONSOLE_ADMIN_EMAIL;
  db = await openTestDb();
});

afterAll(async () => {
  await closeDb(db);
});

beforeEach(async () => {
  await truncateTables(db);
});

/** Signs in through Better Auth and returns request headers with the cookie. */
async function signIn(email: string, secret: string): Promise<Headers> {
  const response = await authFor(db).api.signInEmail({
    body: { email, password: secret },
    asResponse: true,
  });
  if (!response.ok) throw new Error(`sign-in failed with ${response.status}`);

  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]);
  return new Headers({ cookie: cookie.join("; ") });
}

async function signInStatus(email: string, secret: string): Promise<number> {
  const response = await authFor(db).api.signInEmail({
    body: { email, password: secret },
    asResponse: true,
  });
  return response.status;
}

async function errorOf(promise: Promise<unknown>): Promise<ConsoleError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsoleError))
    throw new Error(`expected a ConsoleError, got ${String(error)}`);
  return error;
}

describe("createUser and sign-in", () => {
  it("signs in with the right password", async () => {
    const created = await createUser(db, {
      email: "Support@Example.com",
      name: "Support Person",
      role: "support",
      password,
    });

    const headers = await signIn("support@example.com", password);
    const current = await getUserFromHeaders(headers, authFor(db));

    expect(created.email).toBe("support@example.com");
    expect(current).toEqual({
      id: created.id,
      email: "support@example.com",
      name: "Support Person",
      role: "support",
      grants: [],
      mustChangePassword: false,
    });
  });

  it("carries a support user's session control grant into the session", async () => {
    const created = await createUser(db, {
      email: "helper@example.com",
      name: "Helper",
      role: "support",
      password,
    });
    await setSessionControlGrant(db, "Helper@example.com", true);

    const headers = await signIn("helper@example.com", password);
    const current = await getUserFromHeaders(headers, authFor(db));
    expect(current?.id).toBe(created.id);
    expect(current?.grants).toEqual(["session:control"]);

    await setSessionControlGrant(db, "helper@example.com", false);
    expect((await getUserFromHeaders(headers, authFor(db)))?.grants).toEqual([]);
  });

  it("refuses a session control grant for other roles", async () => {
    await createUser(db, { email: "aud@example.com", name: "Aud", role: "auditor", password });
    const error = await errorOf(setSessionControlGrant(db, "aud@example.com", true));
    expect(error.code).toBe("invalid_input");
    expect(error.message).toContain("auditor");
    expect((await errorOf(setSessionControlGrant(db, "nobody@example.com", true))).code).toBe(
      "not_found",
    );
  });

  it("rejects a wrong password", async () => {
    await createUser(db, {
      email: "a@example.com",
      name: "A",
      role: "auditor",
      password,
    });

    expect(await signInStatus("a@example.com", "not the password at all")).toBe(
      401,
    );
  });

  it("rejects an unknown email", async () => {
    expect(await signInStatus("nobody@example.com", password)).toBe(401);
  });

  it("stores only a hash of the password", async () => {
    const created = await createUser(db, {
      email: "h@example.com",
      name: "H",
      role: "auditor",
      password,
    });
    const context = await authFor(db).$context;
    const account = await context.internalAdapter.findCredentialAccount(
      created.id,
    );

    expect(account?.password).toBeTruthy();
    expect(account?.password).not.toContain(password);
  });

  it("returns null for headers without a session", async () => {
    expect(await getUserFromHeaders(new Headers(), authFor(db))).toBeNull();
  });

  it("rejects a short password", async () => {
    const error = await errorOf(
      createUser(db, {
        email: "b@example.com",
        name: "B",
        role: "auditor",
        password: "short",
      }),
    );

    expect(error.code).toBe("invalid_input");
  });

  it("rejects an unknown role", async () => {
    const error = await errorOf(
      createUser(db, {
        email: "c@example.com",
        name: "C",
        role: "user" as "auditor",
        password,
      }),
    );

    expect(error.code).toBe("invalid_input");
  });

  it("reports a taken email as a conflict", async () => {
    await createUser(db, {
      email: "d@example.com",
      name: "D",
      role: "auditor",
      password,
    });
    const error = await errorOf(
      createUser(db, {
        email: "D@example.com",
        name: "D2",
        role: "admin",
        password,
      }),
    );

    expect(error.code).toBe("conflict");
    expect(error.message).toContain("d@example.com");
  });

  it("audits sign-in success and failure", async () => {
    await createUser(db, {
      email: "e@example.com",
      name: "E",
      role: "auditor",
      password,
    });
    await signIn("e@example.com", password);
    await signInStatus("e@example.com", "wrong password, certainly");

    const rows = await db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, "auth.sign_in"))
      .orderBy(asc(auditEvents.id));

    expect(rows.map((row) => row.result)).toEqual(["success", "failure"]);
    expect(rows[0]?.actor).toBe("e@example.com");
    expect(rows[1]?.actor).toBe("anonymous");
    expect(rows[1]?.params).toEqual({ email: "e@example.com" });
  });

  it("rejects sign-up through the API", async () => {
    const response = await authFor(db).handler(
      new Request("http://127.0.0.1:3000/api/auth/sign-up/email", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://127.0.0.1:3000",
        },
        body: JSON.stringify({ email: "f@example.com", password, name: "F" }),
      }),
    );

    expect(response.status).toBe(404);
    expect(await db.select().from(userTable)).toHaveLength(0);
  });
});

describe("ensureFirstAdmin", () => {
  it("creates an admin once", async () => {
    const first = await ensureFirstAdmin(db);
    const second = await ensureFirstAdmin(db);

    expect(first.created).toBe(true);
    expect(first.email).toBe(DEFAULT_ADMIN_EMAIL);
    expect(second).toEqual({ created: false, email: DEFAULT_ADMIN_EMAIL });
    expect(await db.select().from(userTable)).toHaveLength(1);
  });

  it("creates an admin who can sign in", async () => {
    const result = await ensureFirstAdmin(db);
    if (!result.created) throw new Error("expected a new admin");

    const headers = await signIn(result.email, result.password);
    const current = await getUserFromHeaders(headers, authFor(db));
    expect(current?.role).toBe("admin");
  });

  it("uses SANDBOX_CONSOLE_ADMIN_EMAIL", async () => {
    process.env.SANDBOX_CONSOLE_ADMIN_EMAIL = "Root@Example.org";
    try {
      const result = await ensureFirstAdmin(db);
      expect(result.email).toBe("root@example.org");
    } finally {
      delete process.env.SANDBOX_CONSOLE_ADMIN_EMAIL;
    }
  });

  it("audits the creation", async () => {
    await ensureFirstAdmin(db);

    const rows = await db
      .select()
      .from(auditEvents)
      .orderBy(asc(auditEvents.id));
    expect(rows.map((row) => [row.action, row.phase, row.result])).toEqual([
      ["user.create", "intent", "pending"],
      ["user.create", "outcome", "success"],
    ]);
    expect(rows[0]?.actor).toBe("system:create-admin");
  });
});

describe("resetAdminPassword", () => {
  it("replaces the password and ends sessions", async () => {
    const created = await ensureFirstAdmin(db);
    if (!created.created) throw new Error("expected a new admin");
    const oldSession = await signIn(created.email, created.password);

    const reset = await resetAdminPassword(db);

    expect(reset.email).toBe(created.email);
    expect(reset.password).not.toBe(created.password);
    expect(await signInStatus(created.email, created.password)).toBe(401);
    expect(await signInStatus(created.email, reset.password)).toBe(200);
    expect(await getUserFromHeaders(oldSession, authFor(db))).toBeNull();
  });

  it("fails when there is no admin", async () => {
    const error = await errorOf(resetAdminPassword(db));

    expect(error.code).toBe("not_found");
  });
});

describe("loadAuthSecret", () => {
  let folder: string;
  const savedSecret = process.env.BETTER_AUTH_SECRET;

  afterEach(() => {
    process.env.BETTER_AUTH_SECRET = savedSecret;
    delete process.env.SANDBOX_CONSOLE_DATA;
    rmSync(folder, { recursive: true, force: true });
  });

  it("generates a 0600 secret file once", () => {
    folder = mkdtempSync(path.join(tmpdir(), "sandbox-console-secret-"));
    process.env.SANDBOX_CONSOLE_DATA = folder;
    delete process.env.BETTER_AUTH_SECRET;

    const first = loadAuthSecret();
    const second = loadAuthSecret();
    const file = path.join(folder, "auth-secret");

    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(second).toBe(first);
    expect(readFileSync(file, "utf8")).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("prefers BETTER_AUTH_SECRET", () => {
    folder = mkdtempSync(path.join(tmpdir(), "sandbox-console-secret-"));
    process.env.SANDBOX_CONSOLE_DATA = folder;
    process.env.BETTER_AUTH_SECRET = "from-the-environment-0123456789abcdef";

    expect(loadAuthSecret()).toBe("from-the-environment-0123456789abcdef");
  });
});
