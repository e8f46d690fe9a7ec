// WebSocket routes of the console, with the permission each one needs. The
// upgrade handler matches and authorizes by these entries, and the
// authorization test enumerates the list. The module has no server imports,
// so tests can load it.

import type { Permission } from "@/lib/auth/permissions";

export interface WebSocketRoute {
  /** Path pattern, in the form the route table of the tests uses. */
  path: string;
  pattern: RegExp;
  permission: Permission;
}

export const vncRoute: WebSocketRoute = {
  path: "/api/hosts/[host]/instances/[name]/vnc",
  pattern: /^\/api\/hosts\/([^/]+)\/instances\/([^/]+)\/vnc$/,
  permission: "session:view",
};

export const websocketRoutes: readonly WebSocketRoute[] = [vncRoute];
