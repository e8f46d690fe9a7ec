// Roles and permissions, kept free of Next.js and database imports so that
// client components, scripts and tests can use them.

export const roles = ["admin", "support", "auditor"] as const;

export type Role = (typeof roles)[number];

export type Permission =
  | "instance:read"
  | "instance:operate"
  | "session:view"
  | "session:control"
  | "audit:read"
  | "audit:prune"
  | "host:manage"
  | "user:manage";

/** A signed-in console user, as pages, actions and routes see them. */
export interface ConsoleUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  /** Permissions granted to this user beyond their role (see grantable). */
  grants: readonly Permission[];
  /**
   * Whether an admin set this user's password, so the user must choose a
   * new one before anything else. Only the account page and the password
   * change are open to them until they do.
   */
  mustChangePassword?: boolean;
}

// The one table of who may do what. A permission missing from a role's list
// is denied.
const grants: Record<Role, readonly Permission[]> = {
  admin: [
    "instance:read",
    "instance:operate",
    "session:view",
    "session:control",
    "audit:read",
    "audit:prune",
    "host:manage",
    "user:manage",
  ],
  // Support staff watch; taking control of a session needs a grant per
  // user, and lifecycle actions are for admins only.
  support: ["instance:read", "session:view"],
  auditor: ["instance:read", "session:view", "audit:read"],
};

// Permissions a role does not have but an admin may grant to one user of
// that role. Anything else in a user's grants is ignored.
const grantable: Record<Role, readonly Permission[]> = {
  admin: [],
  support: ["session:control"],
  auditor: [],
};

export function isRole(value: unknown): value is Role {
  return (
    typeof value === "string" && (roles as readonly string[]).includes(value)
  );
}

/** Returns whether `role` grants `permission`. Unknown roles get nothing. */
export function can(role: string, permission: Permission): boolean {
  if (!isRole(role)) return false;
  return grants[role].includes(permission);
}

/**
 * Returns whether `user` has `permission`, through their role or through a
 * per-user grant that their role allows.
 */
export function userCan(user: ConsoleUser, permission: Permission): boolean {
  if (can(user.role, permission)) return true;
  if (!isRole(user.role)) return false;
  return (
    grantable[user.role].includes(permission) &&
    user.grants.includes(permission)
  );
}

/** Returns whether an admin may grant `permission` to a user of `role`. */
export function isGrantable(role: Role, permission: Permission): boolean {
  return grantable[role].includes(permission);
}

/** Phrases for each permission, worded to finish "does not allow ...". */
export const permissionDescriptions: Record<Permission, string> = {
  "instance:read": "viewing instances",
  "instance:operate": "starting, stopping or changing instances",
  "session:view": "watching sandbox screens",
  "session:control": "controlling sandbox screens",
  "audit:read": "reading the audit log",
  "audit:prune": "pruning old audit log rows",
  "host:manage": "managing LXD hosts",
  "user:manage": "managing users",
};
