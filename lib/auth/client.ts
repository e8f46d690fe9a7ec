import { createAuthClient } from "better-auth/react";

/**
 * Better Auth's browser client. It calls /api/auth on the page's own origin,
 * so it needs no base URL.
 */
export const authClient = createAuthClient();
