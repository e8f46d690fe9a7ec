import { describe, expect, it } from "vitest";
import { can, isRole, roles, type Permission, type Role } from "./permissions";

const allPermissions: Permission[] = [
  "instance:read",
  "instance:operate",
  "session:view",
  "session:control",
  "audit:read",
  "audit:prune",
  "host:manage",
  "user:manage",
];

// The expected grants, written out in full so a change to the table in
// permissions.ts has to be made here too.
const expected: Record<Role, Permission[]> = {
  admin: allPermissions,
  support: ["instance:read", "session:view"],
  auditor: ["instance:read", "session:view", "audit:read"],
};

describe("can", () => {
  for (const role of roles) {
    for (const permission of allPermissions) {
      const allowed = expected[role].includes(permission);

      it(`${role} ${allowed ? "may" : "may not"} ${permission}`, () => {
        expect(can(role, permission)).toBe(allowed);
      });
    }
  }

  it("denies every permission to an unknown role", () => {
    for (const permission of allPermissions) {
      expect(can("user", permission)).toBe(false);
      expect(can("", permission)).toBe(false);
    }
  });

  it("denies an unknown permission", () => {
    expect(can("admin", "instance:destroy" as Permission)).toBe(false);
  });
});

describe("isRole", () => {
  it("accepts the three roles", () => {
    expect(roles.every(isRole)).toBe(true);
  });

  it("rejects other values", () => {
    expect(isRole("Admin")).toBe(false);
    expect(isRole(null)).toBe(false);
    expect(isRole(1)).toBe(false);
  });
});
