/** Accounts that the end-to-end setup creates in the test database. */
export const e2eAccounts = {
  admin: {
    email: "e2e-admin@console.localhost",
    name: "E2E Admin",
    role: "admin",
    password: "e2e-admin-password-1",
  },
} as const;
