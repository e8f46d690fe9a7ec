import { startLxdEventIngest, type LxdEventIngester } from "@/lib/audit/ingest";
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

import { ensureDatabaseHosts } from "./database-hosts";
import { getFleet, type Fleet } from "./watcher";

const startupLog = log.child({ component: "host-startup" });

const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface HostServices {
  fleet: Fleet;
  ingester: LxdEventIngester;
  /** Stops retrying a failed load of the added hosts. */
  stopRetrying(): void;
}

/**
 * Loads the hosts added in the console (encrypting any plaintext client
 * keys first), then starts the fleet watcher and the audit log's LXD event
 * ingestion, so both cover every host from the first event on. When the
 * database cannot be read, the hosts file's hosts start alone. The load is
 * then retried with backoff, and the fleet starts watching the added hosts
 * once it succeeds.
 */
export async function startHostServices(
  options: { minRetryMs?: number; maxRetryMs?: number } = {},
): Promise<HostServices> {
  const minRetryMs = options.minRetryMs ?? MIN_RETRY_MS;
  const maxRetryMs = options.maxRetryMs ?? MAX_RETRY_MS;
  let retryTimer: NodeJS.Timeout | null = null;
  let stopped = false;

  const loaded = await ensureDatabaseHosts().then(
    () => true,
    () => false,
  );
  const fleet = getFleet();
  const ingester = startLxdEventIngest(getDb(), fleet);

  const retry = (delayMs: number) => {
    if (stopped) return;
    startupLog.warn({ retryInMs: delayMs }, "will retry loading the hosts added in the console");
    retryTimer = setTimeout(() => {
      retryTimer = null;
      ensureDatabaseHosts().then(
        () => {
          startupLog.info("loaded the hosts added in the console");
          fleet.refreshHosts();
        },
        () => retry(Math.min(delayMs * 2, maxRetryMs)),
      );
    }, delayMs);
  };
  if (!loaded) retry(minRetryMs);

  return {
    fleet,
    ingester,
    stopRetrying: () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
    },
  };
}
