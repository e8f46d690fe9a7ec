"use client";

import { useQuery } from "@tanstack/react-query";
import type { InstanceKey } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";
import { findVncSession } from "@/lib/vnc/session-list";
import type { VncSessionState } from "@/lib/vnc/types";

async function fetchVncSessions(): Promise<VncSessionState[]> {
  const response = await fetch("/api/sessions");
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as
      | { error?: { message?: string } }
      | null;
    throw new Error(
      body?.error?.message ?? `Loading who watches the sandboxes failed (HTTP ${response.status})`,
    );
  }
  const body = (await response.json()) as { sessions: VncSessionState[] };
  return body.sessions;
}

/**
 * Returns the watched sandboxes. The list is fetched once and then patched
 * by `vnc-session` events from /api/events, so it never goes stale by time.
 */
export function useVncSessions() {
  return useQuery({
    queryKey: queryKeys.vncSessions(),
    queryFn: fetchVncSessions,
    staleTime: Infinity,
  });
}

/** Returns one sandbox's viewers and controller, or null while it has no viewers. */
export function useVncSession(key: InstanceKey): VncSessionState | null {
  const { data } = useVncSessions();
  return findVncSession(data, key);
}
