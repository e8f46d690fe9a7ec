import type { BetterAuthOptions } from "better-auth";
import { getIP } from "better-auth/api";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import { eq } from "drizzle-orm";

import { recordAuditEvent } from "@/lib/audit/audit";
import type { Db } from "@/lib/db/client";
import { user as userTable } from "@/lib/db/schema";
import { log } from "@/lib/log";

import { closeLiveConnections } from "./live-connections";
import { OIDC_DISABLED_ERROR, OIDC_NO_ROLE_ERROR } from "./oidc-errors";
import {
  groupsFromClaims,
  OIDC_PROVIDER_ID,
  roleForGroups,
  type OidcConfig,
} from "./oidc-config";
import { isGrantable, type Role } from "./permissions";

// The OpenID Connect sign-in: Better Auth's genericOAuth plugin with
// discovery from the issuer, plus the mapping of the groups claim to a
// console role at every sign-in.

const oidcLog = log.child({ component: "oidc" });


type ValidateUserInfo = NonNullable<NonNullable<BetterAuthOptions["user"]>["validateUserInfo"]>;
type ValidateData = Parameters<ValidateUserInfo>[0];
type EndpointContext = Parameters<ValidateUserInfo>[1];

/** Roles of new users between the validation and the insert, by email. */
const pendingRoles = new Map<string, { role: Role; groups: string[]; at: number }>();
const PENDING_ROLE_TTL_MS = 60_000;

/** Returns the genericOAuth plugin for `config`. */
export function oidcPlugin(config: OidcConfig) {
  return genericOAuth({
    config: [
      {
        providerId: OIDC_PROVIDER_ID,
        name: config.buttonLabel,
        discoveryUrl: `${config.issuer}/.well-known/openid-configuration`,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        scopes: config.scopes,
        // Unsigned or unverifiable ID tokens are rejected.
        requireIdTokenVerification: true,
        pkce: true,
      },
    ],
  });
}

function sourceAddressOf(context: EndpointContext): string | null {
  const request = context.request ?? context.headers;
  return request ? getIP(request, context.context.options) : null;
}

/**
 * Returns Better Auth's validateUserInfo hook for OpenID Connect sign-ins.
 * It maps the groups claim to the highest console role, rejects a user
 * whose groups map to no role or whose account is disabled (each with an
 * audit row), and updates an existing user's role when it changed.
 */
export function validateOidcUser(db: Db, config: OidcConfig): ValidateUserInfo {
  return async (data, context) => {
    const { source } = data;
    if (source.method !== "oauth" || source.oauth?.providerId !== OIDC_PROVIDER_ID) return;

    const email = String(data.user.email ?? "").toLowerCase();
    const groups = groupsFromClaims(source.oauth.profile ?? {}, config.groupsClaim);
    const role = roleForGroups(groups, config.roleMap);
    const sourceAddress = sourceAddressOf(context);

    if (!role) {
      await recordRejection(db, { email, groups, sourceAddress, reason: OIDC_NO_ROLE_ERROR });
      return {
        error: OIDC_NO_ROLE_ERROR,
        errorDescription: `None of the groups of ${email} maps to a console role.`,
      };
    }

    if (source.action === "create-user") {
      prunePendingRoles();
      pendingRoles.set(email, { role, groups, at: Date.now() });
      return;
    }
    return syncExistingUser(db, data, { email, groups, role, sourceAddress });
  };
}

async function syncExistingUser(
  db: Db,
  data: ValidateData,
  claim: { email: string; groups: string[]; role: Role; sourceAddress: string | null },
) {
  const userId = typeof data.user.id === "string" ? data.user.id : "";
  const [existing] = await db.select().from(userTable).where(eq(userTable.id, userId));
  if (!existing) return;

  if (existing.banned === true) {
    await recordRejection(db, { ...claim, reason: OIDC_DISABLED_ERROR });
    return {
      error: OIDC_DISABLED_ERROR,
      errorDescription: `The account ${claim.email} is disabled.`,
    };
  }
  if (existing.role === claim.role) return;

  const sessionControl = existing.sessionControl && isGrantable(claim.role, "session:control");
  await db
    .update(userTable)
    .set({ role: claim.role, sessionControl })
    .where(eq(userTable.id, existing.id));

  // The change has happened, so a failed audit write is logged, not thrown.
  try {
    await recordAuditEvent(db, {
      actor: { system: "oidc" },
      sourceAddress: claim.sourceAddress,
      action: "user.role.sync",
      params: {
        email: existing.email,
        groups: claim.groups,
        before: { role: existing.role, sessionControl: existing.sessionControl },
        after: { role: claim.role, sessionControl },
      },
      result: "success",
    });
  } catch (error) {
    oidcLog.error({ err: error, userId: existing.id }, "audit write for a role sync failed");
  }
  oidcLog.info({ userId: existing.id, before: existing.role, after: claim.role }, "role changed from the groups claim");
  closeLiveConnections(existing.id);
}

async function recordRejection(
  db: Db,
  attempt: { email: string; groups: string[]; sourceAddress: string | null; reason: string },
): Promise<void> {
  const error =
    attempt.reason === OIDC_NO_ROLE_ERROR
      ? "None of the user's groups maps to a console role in OIDC_ROLE_MAP."
      : "The account is disabled.";

  // The sign-in is rejected either way, so a failed audit write is logged.
  try {
    await recordAuditEvent(db, {
      actor: { anonymous: true },
      sourceAddress: attempt.sourceAddress,
      action: "auth.sign_in",
      params: { method: "oidc", email: attempt.email, groups: attempt.groups, reason: attempt.reason },
      result: "failure",
      error,
    });
  } catch (writeError) {
    oidcLog.error({ err: writeError, email: attempt.email }, "audit write for a rejected sign-in failed");
  }
}

function prunePendingRoles(): void {
  const oldest = Date.now() - PENDING_ROLE_TTL_MS;
  for (const [email, pending] of pendingRoles) {
    if (pending.at < oldest) pendingRoles.delete(email);
  }
}

/**
 * Removes and returns the role mapped for a new OpenID Connect user with
 * `email`. Returns null for users that did not pass validateOidcUser.
 */
export function takePendingRole(email: string): { role: Role; groups: string[] } | null {
  const key = email.toLowerCase();
  const pending = pendingRoles.get(key);
  pendingRoles.delete(key);

  if (!pending || pending.at < Date.now() - PENDING_ROLE_TTL_MS) return null;
  return { role: pending.role, groups: pending.groups };
}
