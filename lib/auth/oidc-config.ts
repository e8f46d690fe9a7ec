import { ConsoleError } from "@/lib/errors";

import { isRole, roles, type Role } from "./permissions";

// OpenID Connect sign-in, configured only by environment variables. This
// module has no server imports, so the login page and tests can use it.

/** The Better Auth provider id of the OpenID Connect sign-in. */
export const OIDC_PROVIDER_ID = "oidc";

export const DEFAULT_OIDC_GROUPS_CLAIM = "groups";
export const DEFAULT_OIDC_SCOPES = ["openid", "email", "profile", "groups"];
export const DEFAULT_OIDC_BUTTON_LABEL = "Sign in with single sign-on";

export interface OidcConfig {
  /** Issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Claim with the user's groups, a dotted path such as `realm_access.roles`. */
  groupsClaim: string;
  /** Console role of each group name. */
  roleMap: ReadonlyMap<string, Role>;
  scopes: string[];
  buttonLabel: string;
}

const ROLE_MAP_FORM =
  'group=role pairs separated by commas, such as "sandbox-admins=admin,helpdesk=support,audit=auditor", ' +
  `with the roles ${roles.join(", ")}`;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function invalid(variable: string, problem: string, form: string): ConsoleError {
  return new ConsoleError(
    "invalid_input",
    `${variable} ${problem}. Expected ${form}.`,
  );
}

/**
 * Reads the OpenID Connect settings from `env`. Returns null when none of
 * OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET is set, so the sign-in
 * stays off. Throws ConsoleError "invalid_input" naming the variable and
 * its accepted form when a setting is missing or malformed.
 */
export function readOidcConfig(
  env: Record<string, string | undefined> = process.env,
): OidcConfig | null {
  const value = (name: string) => env[name]?.trim() || undefined;
  const issuer = value("OIDC_ISSUER");
  const clientId = value("OIDC_CLIENT_ID");
  const clientSecret = value("OIDC_CLIENT_SECRET");

  if (!issuer && !clientId && !clientSecret) return null;
  if (!issuer) throw invalid("OIDC_ISSUER", "is missing while other OIDC_ variables are set", "the issuer URL, such as https://id.example.com/realms/main");
  if (!clientId) throw invalid("OIDC_CLIENT_ID", "is missing", "the client id registered at the provider");
  if (!clientSecret) throw invalid("OIDC_CLIENT_SECRET", "is missing", "the client secret registered at the provider");

  const roleMapText = value("OIDC_ROLE_MAP");
  if (!roleMapText) throw invalid("OIDC_ROLE_MAP", "is missing", ROLE_MAP_FORM);

  const groupsClaim = value("OIDC_GROUPS_CLAIM") ?? DEFAULT_OIDC_GROUPS_CLAIM;
  if (!/^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/.test(groupsClaim)) {
    throw invalid("OIDC_GROUPS_CLAIM", `"${groupsClaim}" is not a claim name`, 'a claim name such as "groups", or a dotted path such as "realm_access.roles"');
  }

  const scopesText = value("OIDC_SCOPES");
  const scopes = scopesText ? scopesText.split(/[\s,]+/).filter(Boolean) : DEFAULT_OIDC_SCOPES;
  if (!scopes.includes("openid")) {
    throw invalid("OIDC_SCOPES", `"${scopesText}" lacks the scope openid`, 'scopes separated by spaces, including openid, such as "openid email profile groups"');
  }

  return {
    issuer: parseIssuer(issuer),
    clientId,
    clientSecret,
    groupsClaim,
    roleMap: parseRoleMap(roleMapText),
    scopes,
    buttonLabel: value("OIDC_BUTTON_LABEL") ?? DEFAULT_OIDC_BUTTON_LABEL,
  };
}

function parseIssuer(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("OIDC_ISSUER", `"${text}" is not a URL`, "the issuer URL, such as https://id.example.com/realms/main");
  }

  // Plain HTTP would expose the client secret and the tokens on the network;
  // it is accepted only on this machine, as in the tests.
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw invalid("OIDC_ISSUER", `"${text}" does not use https`, "an https:// issuer URL (http:// only for 127.0.0.1, localhost or [::1])");
  }
  if (url.search || url.hash) {
    throw invalid("OIDC_ISSUER", `"${text}" has a query or fragment`, "the issuer URL without ? or #");
  }
  return text.replace(/\/+$/, "");
}

/** Parses "group=role,group=role" into a map. */
export function parseRoleMap(text: string): Map<string, Role> {
  const map = new Map<string, Role>();

  for (const entry of text.split(",").map((part) => part.trim()).filter(Boolean)) {
    const separator = entry.lastIndexOf("=");
    const group = entry.slice(0, separator).trim();
    const role = entry.slice(separator + 1).trim();

    if (separator < 0) {
      throw invalid("OIDC_ROLE_MAP", `entry "${entry}" has no "=" between a group and a role`, ROLE_MAP_FORM);
    }
    if (group === "") {
      throw invalid("OIDC_ROLE_MAP", `entry "${entry}" has no group name before "="`, ROLE_MAP_FORM);
    }
    if (!isRole(role)) {
      throw invalid("OIDC_ROLE_MAP", `entry "${entry}" names the unknown role "${role}"`, ROLE_MAP_FORM);
    }
    const earlier = map.get(group);
    if (earlier && earlier !== role) {
      throw invalid("OIDC_ROLE_MAP", `maps the group "${group}" to both ${earlier} and ${role}`, ROLE_MAP_FORM);
    }
    map.set(group, role);
  }

  if (map.size === 0) throw invalid("OIDC_ROLE_MAP", "has no entries", ROLE_MAP_FORM);
  return map;
}

const roleRank: Record<Role, number> = { auditor: 0, support: 1, admin: 2 };

/**
 * Reads the groups from `claims` at the dotted path `groupsClaim`. A list
 * of strings is taken as it is and a single string as one group; anything
 * else gives no groups.
 */
export function groupsFromClaims(claims: Record<string, unknown>, groupsClaim: string): string[] {
  let value: unknown = claims;
  for (const part of groupsClaim.split(".")) {
    if (typeof value !== "object" || value === null) return [];
    value = (value as Record<string, unknown>)[part];
  }

  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return [];
  return value.filter((group): group is string => typeof group === "string");
}

/** Returns the highest role that any of `groups` maps to, or null. */
export function roleForGroups(groups: readonly string[], roleMap: ReadonlyMap<string, Role>): Role | null {
  let best: Role | null = null;
  for (const group of groups) {
    const role = roleMap.get(group);
    if (role && (best === null || roleRank[role] > roleRank[best])) best = role;
  }
  return best;
}
