import { EventEmitter } from "node:events";
import { log } from "@/lib/log";
import type { InstanceKey, InstanceSummary } from "@/lib/instances/types";
import {
  getInstance,
  getServerInfo,
  listInstances,
  openEventStream,
  toInstanceSummary,
  LxdError,
  type LxdEvent,
  type LxdLifecycleEvent,
  type LxdOperationEvent,
} from "@/lib/lxd";
import { getDb } from "@/lib/db/client";
import { ensureDatabaseHosts } from "./database-hosts";
import { ensureOperationRecorder } from "./operations";
import { getClient, listHosts, resetClient, type HostDefinition } from "./registry";

export type HostState = "connecting" | "online" | "unreachable";

export interface HostStatus {
  id: string;
  name: string;
  state: HostState;
  /** Reason the host is unreachable, shown to the user. */
  error: string | null;
  serverVersion: string | null;
  /** When the state last changed (ISO 8601). */
  since: string;
}

export interface OperationProgress {
  host: string;
  id: string;
  description: string;
  status: string;
  /** LXD's progress text from the operation metadata, if any. */
  progress: string | null;
  instances: string[];
  /** Whether LXD accepts DELETE /1.0/operations/ID for it. */
  mayCancel: boolean;
  /** LXD's error text of a failed operation, null otherwise. */
  error: string | null;
  /** When LXD created the operation (ISO 8601), for the elapsed time. */
  createdAt: string | null;
}

/** Event the watcher sends to subscribers; the SSE route forwards it unchanged. */
export type FleetEvent =
  | { type: "host"; host: HostStatus }
  | { type: "host-instances"; host: string; instances: InstanceSummary[] }
  | { type: "instance"; instance: InstanceSummary }
  | { type: "instance-removed"; key: InstanceKey }
  | { type: "operation"; operation: OperationProgress };

const minBackoffMs = 500;
const maxBackoffMs = 30_000;
const refetchDelayMs = 50;

export function instanceKeyString(key: InstanceKey): string {
  return `${key.host}/${key.project}/${key.name}`;
}

/**
 * Parses an instance key out of a lifecycle event source such as
 * "/1.0/instances/web?project=demo" or "/1.0/instances/web/snapshots/s1".
 */
export function instanceKeyFromEvent(
  host: string,
  event: LxdLifecycleEvent,
): InstanceKey | null {
  const url = new URL(event.metadata.source, "http://lxd");
  const match = /^\/1\.0\/instances\/([^/]+)/.exec(url.pathname);
  if (!match?.[1]) return null;

  const project =
    url.searchParams.get("project") ??
    event.metadata.project ??
    event.project ??
    "default";
  return { host, project, name: decodeURIComponent(match[1]) };
}

/**
 * Keeps one LXD events websocket open to a host, with the host's instance
 * list in memory. After every (re)connect it refetches the whole list, since
 * events sent while the socket was down are lost.
 */
class HostWatcher {
  readonly definition: HostDefinition;
  readonly instances = new Map<string, InstanceSummary>();
  status: HostStatus;
  private stream: { close(): void } | null = null;
  private backoffMs = minBackoffMs;
  private retryTimer: NodeJS.Timeout | null = null;
  private pendingRefetch = new Map<string, NodeJS.Timeout>();
  private refetchGeneration = new Map<string, number>();
  private stopped = false;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;

  constructor(
    definition: HostDefinition,
    private readonly emit: (event: FleetEvent) => void,
    /** Receives every raw LXD event, for the audit log's ingester. */
    private readonly emitLxd: (event: LxdEvent) => void = () => {},
  ) {
    this.definition = definition;
    this.status = {
      id: definition.id,
      name: definition.name,
      state: "connecting",
      error: null,
      serverVersion: null,
      since: new Date().toISOString(),
    };
    this.firstSync = new Promise((resolve) => {
      this.resolveFirstSync = resolve;
    });
  }

  /** Resolves once the first connection attempt has succeeded or failed. */
  ready(): Promise<void> {
    return this.firstSync;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const timer of this.pendingRefetch.values()) clearTimeout(timer);
    this.stream?.close();
  }

  private logger() {
    return log.child({ host: this.definition.id });
  }

  private setState(state: HostState, error: string | null): void {
    if (this.status.state === state && this.status.error === error) return;
    this.status = {
      ...this.status,
      state,
      error,
      since: new Date().toISOString(),
    };
    this.emit({ type: "host", host: this.status });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const hostId = this.definition.id;

    try {
      const client = getClient(hostId);
      const info = await getServerInfo(client);
      this.status = { ...this.status, serverVersion: info.serverVersion };

      // Subscribe before listing, so no change falls between list and events.
      const stream = await openEventStream(client, {
        types: ["lifecycle", "operation"],
        allProjects: true,
      });
      this.stream = stream;
      // A closed stream's late events must not disturb its successor.
      const current = () => this.stream === stream;
      stream.on("event", (event: LxdEvent) => {
        if (!current()) return;
        this.emitLxd(event);
        this.handleEvent(event);
      });
      stream.on("close", () => {
        if (current()) this.handleDisconnect("events stream closed");
      });
      stream.on("error", (error: unknown) => {
        if (current()) this.handleDisconnect(errorText(error));
      });

      await this.refetchAll();
      this.backoffMs = minBackoffMs;
      this.setState("online", null);
      this.logger().info("connected to LXD events");
    } catch (error) {
      this.handleDisconnect(errorText(error));
    } finally {
      this.resolveFirstSync();
    }
  }

  private handleDisconnect(reason: string): void {
    if (this.stopped || this.retryTimer) return;
    this.stream?.close();
    this.stream = null;
    resetClient(this.definition.id);
    this.setState("unreachable", reason);

    // What the host ran before it went away is unknown now, so its instances
    // leave the list until the next successful sync brings them back.
    if (this.instances.size > 0) {
      this.instances.clear();
      this.emit({ type: "host-instances", host: this.definition.id, instances: [] });
    }

    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, maxBackoffMs);
    this.logger().warn({ reason, retryInMs: Math.round(delay) }, "LXD host unreachable");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  private async refetchAll(): Promise<void> {
    const hostId = this.definition.id;
    // A full list supersedes every single-instance refetch already running.
    for (const [id, generation] of this.refetchGeneration) {
      this.refetchGeneration.set(id, generation + 1);
    }
    const raw = await listInstances(getClient(hostId), { allProjects: true });
    const fresh = raw.map((instance) => toInstanceSummary(hostId, instance));

    this.instances.clear();
    for (const instance of fresh) {
      this.instances.set(instanceKeyString(instance), instance);
    }
    this.emit({ type: "host-instances", host: hostId, instances: fresh });
  }

  private handleEvent(event: LxdEvent): void {
    if (event.type === "operation") {
      this.emit({
        type: "operation",
        operation: operationProgress(this.definition.id, event),
      });
      return;
    }
    if (event.type !== "lifecycle") return;

    const key = instanceKeyFromEvent(this.definition.id, event);
    if (!key) return;

    const action = event.metadata.action;
    if (action === "instance-deleted") {
      this.removeInstance(key);
      return;
    }
    if (action === "instance-renamed") {
      // The source names the old instance; a full refetch finds the new name.
      void this.refetchAll().catch((error: unknown) =>
        this.handleDisconnect(errorText(error)),
      );
      return;
    }
    this.scheduleRefetch(key);
  }

  private removeInstance(key: InstanceKey): void {
    this.instances.delete(instanceKeyString(key));
    this.emit({ type: "instance-removed", key });
  }

  /** Coalesces the bursts of events LXD sends for one change. */
  private scheduleRefetch(key: InstanceKey): void {
    const id = instanceKeyString(key);
    if (this.pendingRefetch.has(id)) return;

    const timer = setTimeout(() => {
      this.pendingRefetch.delete(id);
      void this.refetchInstance(key);
    }, refetchDelayMs);
    this.pendingRefetch.set(id, timer);
  }

  private async refetchInstance(key: InstanceKey): Promise<void> {
    // Two refetches of one instance may overlap and finish out of order, so
    // only the most recently started one may apply its answer.
    const id = instanceKeyString(key);
    const generation = (this.refetchGeneration.get(id) ?? 0) + 1;
    this.refetchGeneration.set(id, generation);
    const isLatest = () => this.refetchGeneration.get(id) === generation;

    try {
      const { instance } = await getInstance(getClient(key.host), key);
      if (!isLatest()) return;
      const summary = toInstanceSummary(key.host, instance);
      this.instances.set(instanceKeyString(summary), summary);
      this.emit({ type: "instance", instance: summary });
    } catch (error) {
      if (!isLatest()) return;
      if (isNotFound(error)) {
        this.removeInstance(key);
        return;
      }
      this.logger().warn(
        { project: key.project, instance: key.name, err: error },
        "refetching an instance after an event failed",
      );
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof LxdError && error.status === 404;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

const runningStatuses = new Set(["Pending", "Running", "Cancelling"]);

function sameDefinition(a: HostDefinition, b: HostDefinition): boolean {
  return a.name === b.name && JSON.stringify(a.endpoint) === JSON.stringify(b.endpoint);
}

function operationProgress(
  host: string,
  event: LxdOperationEvent,
): OperationProgress {
  const operation = event.metadata;
  // LXD reports transfer progress in keys such as "fs_progress".
  const progressEntry = Object.entries(operation.metadata ?? {}).find(
    ([name]) => name.endsWith("_progress"),
  );

  return {
    host,
    id: operation.id,
    description: operation.description,
    status: operation.status,
    progress: progressEntry ? String(progressEntry[1]) : null,
    instances: operation.resources?.instances ?? [],
    mayCancel: operation.may_cancel,
    error: operation.err === "" ? null : operation.err,
    createdAt: operation.created_at || null,
  };
}

/**
 * All hosts' watchers and the subscribers that receive their events. One per
 * server process, kept on globalThis so Next's module reloads share it.
 */
export class Fleet {
  private readonly emitter = new EventEmitter();
  private readonly watchers = new Map<string, HostWatcher>();

  private readonly running = new Map<string, OperationProgress>();
  private readonly pendingWork: Promise<unknown>[] = [];

  constructor() {
    this.emitter.setMaxListeners(0);
    this.emitter.on("event", (event: FleetEvent) => this.trackOperation(event));
    for (const definition of listHosts()) this.startWatcher(definition);
  }

  private startWatcher(definition: HostDefinition): void {
    const watcher = new HostWatcher(
      definition,
      (event) => this.emitter.emit("event", event),
      (event) => this.emitter.emit("lxd", definition.id, event),
    );
    this.watchers.set(definition.id, watcher);
    watcher.start();
  }

  private trackOperation(event: FleetEvent): void {
    if (event.type !== "operation") return;
    const { operation } = event;
    const key = `${operation.host}/${operation.id}`;
    if (runningStatuses.has(operation.status)) {
      this.running.set(key, operation);
    } else {
      this.running.delete(key);
    }
  }

  /**
   * Starts watchers for hosts the registry gained and stops those of hosts
   * it lost, for example after an admin added or removed a host. Watchers of
   * hosts whose definition changed are restarted.
   */
  refreshHosts(): void {
    const definitions = new Map(listHosts().map((host) => [host.id, host]));

    for (const [id, watcher] of this.watchers) {
      const definition = definitions.get(id);
      if (definition && sameDefinition(definition, watcher.definition)) {
        continue;
      }
      watcher.stop();
      this.watchers.delete(id);
      for (const [key, operation] of this.running) {
        if (operation.host === id) this.running.delete(key);
      }
      this.emitter.emit("event", { type: "host-instances", host: id, instances: [] });
    }
    for (const definition of definitions.values()) {
      if (!this.watchers.has(definition.id)) this.startWatcher(definition);
    }
  }

  /** Makes ready() wait for `work` too, such as loading the hosts added in the console. */
  waitFor(work: Promise<unknown>): void {
    this.pendingWork.push(work.catch(() => undefined));
  }

  /** Returns the operations seen running, latest state first by host. */
  operations(): OperationProgress[] {
    return [...this.running.values()];
  }

  /** Waits for each host's first sync, at most `timeoutMs`. */
  async ready(timeoutMs = 5_000): Promise<void> {
    await Promise.all(this.pendingWork);
    const all = Promise.all([...this.watchers.values()].map((w) => w.ready()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([all, timeout]);
    clearTimeout(timer);
  }

  hosts(): HostStatus[] {
    return [...this.watchers.values()].map((watcher) => watcher.status);
  }

  instances(): InstanceSummary[] {
    return [...this.watchers.values()].flatMap((watcher) => [
      ...watcher.instances.values(),
    ]);
  }

  /**
   * Calls `listener` with every raw LXD event of every host. These stay on
   * the server: they carry requestor addresses that browsers do not get.
   */
  subscribeLxd(listener: (host: string, event: LxdEvent) => void): () => void {
    this.emitter.on("lxd", listener);
    return () => this.emitter.off("lxd", listener);
  }

  subscribe(listener: (event: FleetEvent) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }

  stop(): void {
    for (const watcher of this.watchers.values()) watcher.stop();
  }
}

const globalFleet = globalThis as typeof globalThis & {
  __sandboxConsoleFleet?: Fleet;
};

/**
 * Returns the process's fleet watcher, starting it on first use. The hosts
 * that admins added in the console are loaded from the database then, and
 * ready() waits for them. Its operation events update operation_history.
 */
export function getFleet(): Fleet {
  if (!globalFleet.__sandboxConsoleFleet) {
    const fleet = new Fleet();
    globalFleet.__sandboxConsoleFleet = fleet;
    fleet.waitFor(
      ensureDatabaseHosts().then(() => fleet.refreshHosts()),
    );
    ensureOperationRecorder(getDb(), fleet);
  }
  return globalFleet.__sandboxConsoleFleet;
}
