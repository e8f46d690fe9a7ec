import type { Db } from "@/lib/db/client";
import { instanceKeyFromEvent } from "@/lib/hosts/watcher";
import { log } from "@/lib/log";
import type { LxdEvent, LxdLifecycleEvent } from "@/lib/lxd";

import { recordAuditEvent } from "./audit";
import { isConsoleOperation } from "./console-operations";

const ingestLog = log.child({ component: "audit-ingest" });

// An operation stays a candidate for the lifecycle events of its instance
// this long after its last event. On LXD 5.0 here the lifecycle event came
// while the operation ran or right after its success event.
const OPERATION_MATCH_WINDOW_MS = 10_000;
/** A source of raw LXD events from every host, such as the Fleet. */
export interface LxdEventSource {
  subscribeLxd(listener: (host: string, event: LxdEvent) => void): () => void;
}

interface RecentOperation {
  id: string;
  lastSeen: number;
}

/**
 * Records LXD's lifecycle events from every host in the audit log, with
 * LXD's requestor (user name or certificate fingerprint, protocol and
 * address), so actions taken with the lxc CLI or another client appear next
 * to the console's own. Lifecycle events carry no operation id, so each is
 * matched to the latest operation on the same instance. An event whose
 * operation the console started is skipped: the console's audit rows
 * already describe it and carry that operation id.
 */
export class LxdEventIngester {
  private readonly operationsByInstance = new Map<string, RecentOperation[]>();
  private unsubscribe: (() => void) | null = null;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Db) {}

  start(source: LxdEventSource): void {
    this.unsubscribe = source.subscribeLxd((host, event) => this.handle(host, event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Settles when every row queued so far was written (or failed). */
  flush(): Promise<unknown> {
    return this.pending;
  }

  handle(host: string, event: LxdEvent): void {
    if (event.type === "operation") {
      this.noteOperation(host, event.metadata.id, event.metadata.resources?.instances ?? []);
      return;
    }
    if (event.type !== "lifecycle") return;

    const key = instanceKeyFromEvent(host, event);
    const operationId = key ? this.latestOperation(`${host}/${key.project}/${key.name}`) : null;
    if (operationId && isConsoleOperation(host, operationId)) return;

    // Rows are written one after another, in the order LXD sent the events.
    this.pending = this.pending.then(() => this.record(host, event, key, operationId));
  }

  private noteOperation(host: string, id: string, instanceUrls: string[]): void {
    const now = Date.now();
    for (const url of instanceUrls) {
      const parsed = new URL(url, "http://lxd");
      const name = /^\/1\.0\/instances\/([^/]+)/.exec(parsed.pathname)?.[1];
      if (!name) continue;
      const project = parsed.searchParams.get("project") ?? "default";
      const key = `${host}/${project}/${decodeURIComponent(name)}`;
      const recent = (this.operationsByInstance.get(key) ?? []).filter(
        (operation) => operation.id !== id && now - operation.lastSeen < OPERATION_MATCH_WINDOW_MS,
      );
      recent.push({ id, lastSeen: now });
      this.operationsByInstance.set(key, recent);
    }
  }

  private latestOperation(instanceKey: string): string | null {
    const now = Date.now();
    const recent = (this.operationsByInstance.get(instanceKey) ?? []).filter(
      (operation) => now - operation.lastSeen < OPERATION_MATCH_WINDOW_MS,
    );
    return recent.at(-1)?.id ?? null;
  }

  private async record(
    host: string,
    event: LxdLifecycleEvent,
    key: ReturnType<typeof instanceKeyFromEvent>,
    operationId: string | null,
  ): Promise<void> {
    const { action, source, context, requestor } = event.metadata;
    try {
      await recordAuditEvent(this.db, {
        actor: { lxd: requestor?.username || "lxd" },
        sourceAddress: requestor?.address ?? null,
        action: `lxd.${action}`,
        host,
        project: key?.project ?? event.metadata.project ?? event.project ?? null,
        instance: key?.name ?? null,
        params: {
          source,
          ...(context ? { context } : {}),
          ...(requestor ? { requestor: { ...requestor } } : { requestor: null }),
          at: event.timestamp,
        },
        result: "success",
        operationId,
      });
    } catch (error) {
      ingestLog.error({ err: error, host, action, source }, "audit write for an LXD event failed");
    }
  }
}

const globalIngest = globalThis as typeof globalThis & {
  [key: symbol]: LxdEventIngester | undefined;
};
const ingestKey = Symbol.for("sandbox-console.lxd-event-ingest");

/**
 * Starts recording the LXD events of `source` in the audit log, once per
 * process. The console's server calls it at start; tests create their own
 * LxdEventIngester instead.
 */
export function startLxdEventIngest(db: Db, source: LxdEventSource): LxdEventIngester {
  let ingester = globalIngest[ingestKey];
  if (!ingester) {
    ingester = new LxdEventIngester(db);
    ingester.start(source);
    globalIngest[ingestKey] = ingester;
  }
  return ingester;
}
