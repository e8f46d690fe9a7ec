import { and, asc, eq, ne, or, type SQL } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";

import type { AuditEvent } from "./audit";
import { canonicalJson } from "./hash";

/** Rows listed as related to one row, at most. */
const MAX_RELATED_ROWS = 200;

/** Returns the audit row with `id`, or null when there is none. */
export async function getAuditEvent(db: Db, id: number): Promise<AuditEvent | null> {
  const [row] = await db.select().from(auditEvents).where(eq(auditEvents.id, id));
  return row ?? null;
}

/**
 * Lists the other rows of the same action (same correlation id) and of the
 * same LXD operation (same operation id), oldest first, at most 200.
 */
export async function listRelatedAuditEvents(db: Db, row: AuditEvent): Promise<AuditEvent[]> {
  const links: SQL[] = [];
  if (row.correlationId) links.push(eq(auditEvents.correlationId, row.correlationId));
  if (row.operationId) links.push(eq(auditEvents.operationId, row.operationId));
  if (links.length === 0) return [];

  return db
    .select()
    .from(auditEvents)
    .where(and(ne(auditEvents.id, row.id), or(...links)))
    .orderBy(asc(auditEvents.id))
    .limit(MAX_RELATED_ROWS);
}

/** One configuration key that differs between params.before and params.after. */
export interface ConfigChange {
  key: string;
  change: "added" | "removed" | "changed";
  /** The value before, as JSON text, or null when the key was added. */
  before: string | null;
  /** The value after, as JSON text, or null when the key was removed. */
  after: string | null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Compares params.before with params.after key by key, sorted by key, when
 * both are objects (as a config update records them). Returns null when the
 * row has no such pair. Nested values are compared as canonical JSON.
 */
export function diffConfigParams(params: Record<string, unknown> | null): ConfigChange[] | null {
  const before = params?.before;
  const after = params?.after;
  if (!isPlainObject(before) || !isPlainObject(after)) return null;

  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: ConfigChange[] = [];

  for (const key of keys) {
    const old = key in before ? canonicalJson(before[key]) : null;
    const next = key in after ? canonicalJson(after[key]) : null;
    if (old === next) continue;

    let change: "added" | "removed" | "changed" = "changed";
    if (old === null) change = "added";
    else if (next === null) change = "removed";
    changes.push({ key, change, before: old, after: next });
  }
  return changes;
}
