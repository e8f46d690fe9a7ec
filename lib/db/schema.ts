import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { roles } from "../auth/permissions";

// Better Auth tables. Property names are the field names that Better Auth
// 1.7's drizzle adapter uses (getAuthTables in @better-auth/core), plus the
// admin plugin's role, banned, banReason, banExpires and impersonatedBy.
// The SQL columns are snake_case.

const createdAt = () =>
  timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

const updatedAt = () =>
  timestamp("updated_at", { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());

export const user = pgTable(
  "user",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    email: text("email").notNull().unique(),
    emailVerified: boolean("email_verified").notNull().default(false),
    image: text("image"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    role: text("role", { enum: roles }).notNull().default("auditor"),
    banned: boolean("banned").default(false),
    banReason: text("ban_reason"),
    banExpires: timestamp("ban_expires", { withTimezone: true }),
    // Per-user grant of session control for support users; see
    // grantable in lib/auth/permissions.ts.
    sessionControl: boolean("session_control").notNull().default(false),
    // Set when an admin creates the account or resets its password, so the
    // user must choose their own password before anything else.
    mustChangePassword: boolean("must_change_password")
      .notNull()
      .default(false),
    lastSignInAt: timestamp("last_sign_in_at", { withTimezone: true }),
  },
  (table) => [
    check(
      "user_role_check",
      sql`${table.role} in ('admin', 'support', 'auditor')`,
    ),
  ],
);

export const session = pgTable(
  "session",
  {
    id: text("id").primaryKey(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    token: text("token").notNull().unique(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    impersonatedBy: text("impersonated_by"),
  },
  (table) => [index("session_user_id_idx").on(table.userId)],
);

export const account = pgTable(
  "account",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    providerId: text("provider_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    accessToken: text("access_token"),
    refreshToken: text("refresh_token"),
    idToken: text("id_token"),
    accessTokenExpiresAt: timestamp("access_token_expires_at", {
      withTimezone: true,
    }),
    refreshTokenExpiresAt: timestamp("refresh_token_expires_at", {
      withTimezone: true,
    }),
    scope: text("scope"),
    password: text("password"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("account_user_id_idx").on(table.userId)],
);

export const verification = pgTable(
  "verification",
  {
    id: text("id").primaryKey(),
    identifier: text("identifier").notNull(),
    value: text("value").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("verification_identifier_idx").on(table.identifier)],
);

/** The tables passed to Better Auth's drizzle adapter, keyed by model name. */
export const authSchema = { user, session, account, verification };

export const auditPhases = ["intent", "outcome", "event"] as const;
export const auditResults = [
  "pending",
  "success",
  "failure",
  "refused",
] as const;

/**
 * Append-only audit log. A trigger (see the custom migration in drizzle/)
 * rejects UPDATE and DELETE, and each row's hash covers its fields and the
 * previous row's hash (lib/audit/hash.ts).
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // Millisecond precision so that a JavaScript Date reads back unchanged and
    // the hash computed at insert time can be recomputed from the stored row.
    at: timestamp("at", { withTimezone: true, precision: 3 })
      .notNull()
      .defaultNow(),
    correlationId: uuid("correlation_id"),
    phase: text("phase", { enum: auditPhases }).notNull(),
    actorId: text("actor_id"),
    actor: text("actor").notNull(),
    sourceAddress: text("source_address"),
    action: text("action").notNull(),
    host: text("host"),
    project: text("project"),
    instance: text("instance"),
    params: jsonb("params").$type<Record<string, unknown>>(),
    result: text("result", { enum: auditResults }).notNull(),
    error: text("error"),
    operationId: text("operation_id"),
    durationMs: integer("duration_ms"),
    prevHash: text("prev_hash"),
    hash: text("hash").notNull(),
  },
  (table) => [
    index("audit_events_at_idx").on(table.at),
    index("audit_events_instance_at_idx").on(
      table.host,
      table.project,
      table.instance,
      table.at,
    ),
    index("audit_events_correlation_id_idx").on(table.correlationId),
    index("audit_events_operation_id_idx").on(table.operationId),
    // Filters of the audit page; each ends with id for the keyset order.
    index("audit_events_actor_idx").on(table.actor, table.id),
    // text_pattern_ops lets a btree serve `action like 'vnc.%'` whatever the
    // database's collation.
    index("audit_events_action_idx").on(
      table.action.op("text_pattern_ops"),
      table.id,
    ),
    index("audit_events_result_idx").on(table.result, table.id),
    index("audit_events_name_idx").on(table.instance, table.id),
    // Full-text search over params and error. The expression must match
    // auditSearchDocument in lib/audit/filters.ts for the index to be used.
    index("audit_events_search_idx").using(
      "gin",
      sql`to_tsvector('simple'::regconfig, coalesce(${table.params}::text, '') || ' ' || coalesce(${table.error}, ''))`,
    ),
    check(
      "audit_events_phase_check",
      sql`${table.phase} in ('intent', 'outcome', 'event')`,
    ),
    check(
      "audit_events_result_check",
      sql`${table.result} in ('pending', 'success', 'failure', 'refused')`,
    ),
  ],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;

/**
 * LXD servers an admin added in the console, next to those of the hosts
 * file. The console made the client key pair for each one and pinned the
 * server certificate it saw when the trust token was accepted. The client
 * key stays on the server: no route, page or log line may include it.
 */
export const lxdHosts = pgTable("lxd_hosts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** https://ADDRESS:PORT of the LXD API. */
  url: text("url").notNull(),
  serverCertificate: text("server_certificate").notNull(),
  /** SHA-256 of the server certificate's DER form, lowercase hex. */
  serverFingerprint: text("server_fingerprint").notNull(),
  clientCertificate: text("client_certificate").notNull(),
  clientKey: text("client_key").notNull(),
  addedBy: text("added_by"),
  createdAt: createdAt(),
});

export type LxdHostRow = typeof lxdHosts.$inferSelect;

export const operationStatuses = [
  "running",
  "success",
  "failure",
  "cancelled",
] as const;

/**
 * LXD operations the console started or saw. LXD drops finished operations
 * after a few seconds, so the console keeps them here.
 */
export const operationHistory = pgTable(
  "operation_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    host: text("host").notNull(),
    lxdOperationId: text("lxd_operation_id").notNull(),
    /** Dotted resource.verb of the console action, e.g. "instance.migrate". */
    action: text("action"),
    description: text("description").notNull(),
    project: text("project"),
    instance: text("instance"),
    status: text("status", { enum: operationStatuses }).notNull(),
    /** Last progress text from the operation metadata. */
    progress: text("progress"),
    error: text("error"),
    actor: text("actor"),
    correlationId: uuid("correlation_id"),
    mayCancel: boolean("may_cancel").notNull().default(false),
    startedAt: timestamp("started_at", { withTimezone: true, precision: 3 })
      .notNull()
      .defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true, precision: 3 }),
  },
  (table) => [
    uniqueIndex("operation_history_host_operation_idx").on(
      table.host,
      table.lxdOperationId,
    ),
    index("operation_history_started_at_idx").on(table.startedAt),
    check(
      "operation_history_status_check",
      sql`${table.status} in ('running', 'success', 'failure', 'cancelled')`,
    ),
  ],
);

export type OperationRecord = typeof operationHistory.$inferSelect;

/**
 * Named sets of resource limits (small, medium, large, and any an admin
 * adds), as LXD config keys and values such as {"limits.cpu": "2"}.
 */
export const limitPresets = pgTable("limit_presets", {
  name: text("name").primaryKey(),
  description: text("description").notNull().default(""),
  limits: jsonb("limits").$type<Record<string, string>>().notNull(),
  updatedBy: text("updated_by"),
  updatedAt: updatedAt(),
});

export type LimitPreset = typeof limitPresets.$inferSelect;
