import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";

// A real OpenID Connect provider (the oidc-provider package) on 127.0.0.1,
// run inside the test process, for the console's single sign-on tests. Its
// users carry a groups claim that a test can change between sign-ins.
// NOTE: the login form is oidc-provider's development form, which accepts
// any password for a known login. The console never receives the password.

export interface TestOidcUser {
  /** The login typed into the provider's form, and the subject. */
  login: string;
  email: string;
  name: string;
  groups: string[];
}

export interface TestOidcProvider {
  /** The issuer URL, http://127.0.0.1:PORT. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Replaces a user's groups; the next sign-in carries them. */
  setGroups(login: string, groups: string[]): void;
  stop(): Promise<void>;
}

export interface TestOidcOptions {
  /** The console's callback URLs, such as http://127.0.0.1:3100/api/auth/callback/oidc. */
  redirectUris: string[];
  users: TestOidcUser[];
  /** 0 (the default) picks a free port. */
  port?: number;
}

const SCOPES = "openid email profile groups";

function signingKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: "test-signing-key", alg: "RS256", use: "sig" };
}

/** Starts the provider and resolves once it listens. */
export async function startTestOidcProvider(options: TestOidcOptions): Promise<TestOidcProvider> {
  const users = new Map(options.users.map((user) => [user.login, { ...user }]));
  const clientId = "sandbox-console-test";
  const clientSecret = randomBytes(24).toString("base64url");

  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: SCOPES.split(" "),
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["groups"],
    },
    pkce: { required: () => true },
    // Lifetimes in seconds, long enough for one test run.
    ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: true } },
    // The console is this provider's first-party client, so the consent
    // screen is skipped: every requested scope is granted.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (!session?.accountId || !client) return undefined;

      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(SCOPES);
      await grant.save();
      return grant;
    },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: [...user.groups],
        }),
      };
    },
  };

  const provider = new Provider(issuer, configuration);
  const handle = provider.callback();
  server.on("request", (request, response) => void handle(request, response));

  return {
    issuer,
    clientId,
    clientSecret,
    setGroups(login, groups) {
      const user = users.get(login);
      if (!user) throw new Error(`The test OpenID provider has no user ${login}`);
      user.groups = [...groups];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
