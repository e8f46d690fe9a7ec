import { describe, expect, it } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { groupsFromClaims, parseRoleMap, readOidcConfig, roleForGroups } from "./oidc-config";

const complete = {
  OIDC_ISSUER: "https://id.example.com/realms/main/",
  OIDC_CLIENT_ID: "console",
  OIDC_CLIENT_SECRET: "secret",
  OIDC_ROLE_MAP: "sandbox-admins=admin, helpdesk=support,audit=auditor",
};

function messageOf(env: Record<string, string>): string {
  try {
    readOidcConfig(env);
  } catch (error) {
    if (error instanceof ConsoleError) return error.message;
    throw error;
  }
  throw new Error("expected readOidcConfig to throw");
}

describe("readOidcConfig", () => {
  it("is off without OIDC variables", () => {
    expect(readOidcConfig({})).toBeNull();
  });

  it("reads a complete configuration", () => {
    const config = readOidcConfig(complete);

    expect(config?.issuer).toBe("https://id.example.com/realms/main");
    expect(config?.groupsClaim).toBe("groups");
    expect(config?.scopes).toEqual(["openid", "email", "profile", "groups"]);
    expect(config?.buttonLabel).toBe("Sign in with single sign-on");
    expect([...(config?.roleMap ?? [])]).toEqual([
      ["sandbox-admins", "admin"],
      ["helpdesk", "support"],
      ["audit", "auditor"],
    ]);
  });

  it("takes the optional settings", () => {
    const config = readOidcConfig({
      ...complete,
      OIDC_GROUPS_CLAIM: "realm_access.roles",
      OIDC_SCOPES: "openid email",
      OIDC_BUTTON_LABEL: "Sign in with Keycloak",
    });

    expect(config?.groupsClaim).toBe("realm_access.roles");
    expect(config?.scopes).toEqual(["openid", "email"]);
    expect(config?.buttonLabel).toBe("Sign in with Keycloak");
  });

  it("names the missing variable", () => {
    expect(messageOf({ OIDC_CLIENT_ID: "console" })).toContain("OIDC_ISSUER is missing");
    expect(messageOf({ ...complete, OIDC_CLIENT_SECRET: "" })).toContain("OIDC_CLIENT_SECRET is missing");
    expect(messageOf({ ...complete, OIDC_ROLE_MAP: " " })).toContain("OIDC_ROLE_MAP is missing");
  });

  it("rejects plain HTTP off this machine", () => {
    const message = messageOf({ ...complete, OIDC_ISSUER: "http://id.example.com" });
    expect(message).toContain("OIDC_ISSUER");
    expect(message).toContain("https://");
    expect(readOidcConfig({ ...complete, OIDC_ISSUER: "http://127.0.0.1:9000" })?.issuer).toBe("http://127.0.0.1:9000");
  });

  it("rejects scopes without openid", () => {
    expect(messageOf({ ...complete, OIDC_SCOPES: "email profile" })).toContain("lacks the scope openid");
  });
});

describe("parseRoleMap", () => {
  it("names a bad entry and the accepted form", () => {
    const message = messageOf({ ...complete, OIDC_ROLE_MAP: "ops=root" });
    expect(message).toContain('entry "ops=root" names the unknown role "root"');
    expect(message).toContain("group=role pairs");
  });

  it("rejects an entry without a group", () => {
    expect(messageOf({ ...complete, OIDC_ROLE_MAP: "=admin" })).toContain("has no group name");
    expect(messageOf({ ...complete, OIDC_ROLE_MAP: "admins" })).toContain(`entry "admins" has no "=" between a group and a role`);
  });

  it("rejects a group mapped to two roles", () => {
    expect(() => parseRoleMap("ops=admin,ops=auditor")).toThrow('maps the group "ops" to both admin and auditor');
  });

  it("keeps an equals sign inside a group name", () => {
    expect([...parseRoleMap("cn=ops=support")]).toEqual([["cn=ops", "support"]]);
  });
});

describe("roleForGroups", () => {
  const map = parseRoleMap("a=auditor,s=support,x=admin");

  it("returns the highest mapped role", () => {
    expect(roleForGroups(["a", "x", "s"], map)).toBe("admin");
    expect(roleForGroups(["a", "s"], map)).toBe("support");
    expect(roleForGroups(["other"], map)).toBeNull();
    expect(roleForGroups([], map)).toBeNull();
  });
});

describe("groupsFromClaims", () => {
  it("reads a list, a single string or a dotted path", () => {
    expect(groupsFromClaims({ groups: ["a", 1, "b"] }, "groups")).toEqual(["a", "b"]);
    expect(groupsFromClaims({ groups: "a" }, "groups")).toEqual(["a"]);
    expect(groupsFromClaims({ realm_access: { roles: ["x"] } }, "realm_access.roles")).toEqual(["x"]);
    expect(groupsFromClaims({}, "groups")).toEqual([]);
    expect(groupsFromClaims({ groups: { a: 1 } }, "groups")).toEqual([]);
  });
});
