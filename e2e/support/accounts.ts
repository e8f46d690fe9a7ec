/** Accounts that the end-to-end setup creates in the test database. */
export const e2eAccounts = {
  admin: {
    email: "e2e-admin@console.localhost",
    name: "E2E Admin",
    role: "admin",
    password: "e2e-admin-password-1",
  },
  support: {
    email: "e2e-support@console.localhost",
    name: "E2E Support",
    role: "support",
    password: "e2e-support-password-1",
  },
  auditor: {
    email: "e2e-auditor@console.localhost",
    name: "E2E Auditor",
    role: "auditor",
    password: "e2e-auditor-password-1",
  },
} as const;

/** Users of the OpenID Connect provider that the end-to-end setup runs. */
export const e2eOidcUsers = [
  { login: "oidc-admin", email: "oidc-admin@console.localhost", name: "OIDC Admin", groups: ["staff", "e2e-admins"] },
  { login: "oidc-nobody", email: "oidc-nobody@console.localhost", name: "OIDC Nobody", groups: ["staff"] },
];

/** OIDC_ROLE_MAP of the end-to-end console. */
export const e2eOidcRoleMap = "e2e-admins=admin,e2e-helpdesk=support,e2e-audit=auditor";
