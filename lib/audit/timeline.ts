import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";

import type { Db } from "@/lib/db/client";
import { auditEvents } from "@/lib/db/schema";
import { parseInput } from "@/lib/validation";

import type { AuditEvent } from "./audit";

/** Rows shown on one instance's timeline, at most; the oldest come first. */
export const MAX_TIMELINE_ROWS = 5000;

const name = z.string().trim().min(1).max(200);
const timelineQuery = z.object({ host: name, project: name, instance: name });

/** The instance a timeline is about. */
export type TimelineTarget = z.output<typeof timelineQuery>;

/**
 * Reads host, project and instance from the timeline page's query. Throws
 * ConsoleError("invalid_input") naming a missing one.
 */
export function parseTimelineQuery(
  query: Record<string, string | string[] | undefined>,
): TimelineTarget {
  return parseInput(timelineQuery, {
    host: query.host,
    project: query.project,
    instance: query.instance,
  });
}

/** A VNC view of the instance, from its open row to its close row. */
export interface ViewSession {
  correlationId: string;
  actor: string;
  mode: string | null;
  openedAt: Date;
  /** When the close row was written, or null while no close row exists. */
  closedAt: Date | null;
  /** As the close row records it, or null while no close row exists. */
  durationMs: number | null;
  /** The result of opening the view; a refused or failed open has no close. */
  openResult: AuditEvent["result"];
  closeReason: string | null;
}

/** Every audit row of one instance in time order, with its VNC views. */
export interface InstanceTimeline {
  rows: AuditEvent[];
  /** True when the instance has more rows than MAX_TIMELINE_ROWS. */
  truncated: boolean;
  viewSessions: ViewSession[];
}

/**
 * Loads every audit row of one instance, console actions and ingested LXD
 * events together, oldest first, and pairs the VNC view rows into sessions.
 */
export async function loadInstanceTimeline(
  db: Db,
  target: TimelineTarget,
  maxRows = MAX_TIMELINE_ROWS,
): Promise<InstanceTimeline> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.host, target.host),
        eq(auditEvents.project, target.project),
        eq(auditEvents.instance, target.instance),
      ),
    )
    .orderBy(asc(auditEvents.at), asc(auditEvents.id))
    .limit(maxRows + 1);

  const truncated = rows.length > maxRows;
  const shown = truncated ? rows.slice(0, maxRows) : rows;
  return { rows: shown, truncated, viewSessions: pairViewSessions(shown) };
}

function stringParam(row: AuditEvent, key: string): string | null {
  const value = row.params?.[key];
  return typeof value === "string" ? value : null;
}

/**
 * Pairs "vnc.view.open" rows with the "vnc.view.close" row of the same
 * correlation id. The open's outcome row, when present, gives its result.
 */
export function pairViewSessions(rows: AuditEvent[]): ViewSession[] {
  const sessions = new Map<string, ViewSession>();

  for (const row of rows) {
    if (!row.correlationId) continue;

    if (row.action === "vnc.view.open") {
      const existing = sessions.get(row.correlationId);
      if (!existing) {
        sessions.set(row.correlationId, {
          correlationId: row.correlationId,
          actor: row.actor,
          mode: stringParam(row, "mode"),
          openedAt: row.at,
          closedAt: null,
          durationMs: null,
          openResult: row.result,
          closeReason: null,
        });
      } else if (row.phase === "outcome") {
        existing.openResult = row.result;
      }
    } else if (row.action === "vnc.view.close") {
      const session = sessions.get(row.correlationId);
      if (!session) continue;
      session.closedAt = row.at;
      session.durationMs = row.durationMs;
      session.closeReason = stringParam(row, "reason");
    }
  }
  return [...sessions.values()];
}
