import type { Permission } from "@/lib/auth/permissions";

/**
 * What each entry point of the console requires, keyed by how the
 * authorization test names it:
 * - "PAGE /path" for pages (app/**\/page.tsx),
 * - "GET /api/..." (any method) for route handlers (app/**\/route.ts),
 * - "ACTION file#name" for server actions (exports of "use server" files),
 * - "WS /path" for WebSocket routes (lib/vnc/routes.ts).
 * Dynamic segments keep their [brackets]. "public" needs no session;
 * "signed-in" needs a session and no permission. Every entry point the test
 * finds in the code must be listed here, and every entry here must exist.
 */
export type Requirement = Permission | "public" | "signed-in";

export interface AccessEntry {
  requires: Requirement;
  /**
   * For actions: an input that is valid apart from permissions, sent by
   * roles that are denied, so the permission check is the only reason to
   * fail. Allowed roles send an invalid input instead, which changes
   * nothing, and must get past the permission check to a validation error.
   */
  validInput?: unknown;
}

const demo = { host: "e2e", project: "default", name: "demo-browser" };

export const accessTable: Record<string, AccessEntry> = {
  "PAGE /login": { requires: "public" },
  "PAGE /": { requires: "instance:read" },
  "PAGE /instances": { requires: "instance:read" },
  "PAGE /instances/[host]/[project]/[name]": { requires: "instance:read" },
  "PAGE /sessions": { requires: "session:view" },
  "PAGE /audit": { requires: "audit:read" },
  "PAGE /audit/[id]": { requires: "audit:read" },
  "PAGE /audit/timeline": { requires: "audit:read" },
  "PAGE /account": { requires: "instance:read" },
  "PAGE /hosts": { requires: "host:manage" },
  "PAGE /admin/users": { requires: "user:manage" },
  "PAGE /operations": { requires: "instance:read" },

  "GET /api/health": { requires: "public" },
  "GET /api/auth/[...all]": { requires: "public" },
  "POST /api/auth/[...all]": { requires: "public" },
  "GET /api/[...path]": { requires: "public" },
  "POST /api/[...path]": { requires: "public" },
  "PUT /api/[...path]": { requires: "public" },
  "PATCH /api/[...path]": { requires: "public" },
  "DELETE /api/[...path]": { requires: "public" },
  "GET /api/events": { requires: "instance:read" },
  "GET /api/instances": { requires: "instance:read" },
  "GET /api/instances/[host]/[project]/[name]": { requires: "instance:read" },
  "POST /api/instances/usage": { requires: "instance:read" },
  "GET /api/sessions": { requires: "session:view" },
  "GET /api/audit/export": { requires: "audit:read" },
  "POST /api/account/password": { requires: "signed-in" },

  "ACTION app/(console)/instances/actions.ts#changeInstanceStateAction": {
    requires: "instance:operate",
    validInput: { ...demo, action: "restart" },
  },
  "ACTION app/(console)/sessions/actions.ts#takeControlAction": {
    requires: "session:control",
    validInput: { ...demo, viewId: "00000000-0000-4000-8000-000000000000" },
  },
  "ACTION app/(console)/sessions/actions.ts#releaseControlAction": {
    requires: "session:view",
    validInput: { ...demo, viewId: "00000000-0000-4000-8000-000000000000" },
  },

  "ACTION app/(console)/instances/toolbox-actions.ts#loadToolboxAction": {
    requires: "instance:read",
    validInput: demo,
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#createSnapshotAction": {
    requires: "instance:operate",
    validInput: { ...demo, snapshot: "authz-check", stateful: false },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#restoreSnapshotAction": {
    requires: "instance:operate",
    validInput: { ...demo, snapshot: "authz-check" },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#deleteSnapshotAction": {
    requires: "instance:operate",
    validInput: { ...demo, snapshot: "authz-check" },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#updateScheduleAction": {
    requires: "instance:operate",
    validInput: { ...demo, etag: null, values: { "snapshots.schedule": "@daily" } },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#updateLimitsAction": {
    requires: "instance:operate",
    validInput: { ...demo, etag: null, values: { "limits.processes": "500" } },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#applyPresetAction": {
    requires: "instance:operate",
    validInput: { ...demo, etag: null, preset: "small" },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#savePresetAction": {
    requires: "instance:operate",
    validInput: { name: "authz-check", description: "", limits: { "limits.cpu": "1" } },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#deletePresetAction": {
    requires: "instance:operate",
    validInput: { name: "authz-check" },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#deleteInstanceAction": {
    requires: "instance:operate",
    validInput: { ...demo, confirmName: demo.name, force: false },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#bulkAction": {
    requires: "instance:operate",
    validInput: { action: "stop", instances: [demo] },
  },
  "ACTION app/(console)/instances/toolbox-actions.ts#incidentAction": {
    requires: "instance:operate",
    validInput: { ...demo, reason: "authorization check" },
  },
  "ACTION app/(console)/instances/move-actions.ts#planMigrationAction": {
    requires: "instance:operate",
    validInput: demo,
  },
  "ACTION app/(console)/instances/move-actions.ts#migrateInstanceAction": {
    requires: "instance:operate",
    validInput: { ...demo, targetHost: "e2e-b", live: false },
  },
  "ACTION app/(console)/instances/move-actions.ts#cloneInstanceAction": {
    requires: "instance:operate",
    validInput: { ...demo, targetHost: "e2e", targetName: "authz-clone" },
  },
  "ACTION app/(console)/operations/actions.ts#cancelOperationAction": {
    requires: "instance:operate",
    validInput: { host: "e2e", id: "00000000-0000-4000-8000-000000000000" },
  },
  "ACTION app/(console)/hosts/actions.ts#addHostAction": {
    requires: "host:manage",
    validInput: { id: "authz", name: "Authz", url: "https://127.0.0.1:9", token: "x" },
  },
  "ACTION app/(console)/hosts/actions.ts#testHostAction": {
    requires: "host:manage",
    validInput: { id: "e2e" },
  },
  "ACTION app/(console)/hosts/actions.ts#removeHostAction": {
    requires: "host:manage",
    validInput: { id: "authz" },
  },
  "ACTION app/(console)/audit/actions.ts#verifyChainAction": { requires: "audit:read" },
  "ACTION app/(console)/audit/actions.ts#planPruneAction": {
    requires: "audit:prune",
    validInput: { before: "2000-01-01" },
  },
  "ACTION app/(console)/audit/actions.ts#pruneAuditAction": {
    requires: "audit:prune",
    validInput: { before: "2000-01-01", expectedRows: 0 },
  },
  "ACTION app/(console)/admin/users/actions.ts#createAccountAction": {
    requires: "user:manage",
    validInput: { email: "authz-check@console.localhost", name: "Authz", role: "auditor" },
  },
  "ACTION app/(console)/admin/users/actions.ts#changeRoleAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check", role: "auditor" },
  },
  "ACTION app/(console)/admin/users/actions.ts#setSessionControlAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check", granted: true },
  },
  "ACTION app/(console)/admin/users/actions.ts#disableAccountAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check" },
  },
  "ACTION app/(console)/admin/users/actions.ts#enableAccountAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check" },
  },
  "ACTION app/(console)/admin/users/actions.ts#resetPasswordAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check" },
  },
  "ACTION app/(console)/admin/users/actions.ts#signOutEverywhereAction": {
    requires: "user:manage",
    validInput: { userId: "authz-check" },
  },

  "WS /api/hosts/[host]/instances/[name]/vnc": { requires: "session:view" },
};

/** Values for dynamic segments when a concrete path is needed. */
export const segmentValues: Record<string, string> = {
  host: demo.host,
  project: demo.project,
  name: demo.name,
  "...all": "get-session",
  "...path": "no-such-route",
  id: "1",
};
