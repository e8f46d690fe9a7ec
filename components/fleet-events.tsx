"use client";

import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState } from "react";
import type { FleetEvent, HostStatus } from "@/lib/hosts/watcher";
import type { InstanceSummary } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";
import { applyVncSessionUpdate } from "@/lib/vnc/session-list";
import type { VncSessionState } from "@/lib/vnc/types";

export interface FleetSnapshot {
  hosts: HostStatus[];
  instances: InstanceSummary[];
}

export type StreamState = "connecting" | "live" | "reconnecting";

const StreamStateContext = createContext<StreamState>("connecting");

export function useStreamState(): StreamState {
  return useContext(StreamStateContext);
}

function sameKey(a: InstanceSummary, b: { host: string; project: string; name: string }) {
  return a.host === b.host && a.project === b.project && a.name === b.name;
}

/** Applies one server event to the cached fleet snapshot. */
export function applyFleetEvent(
  snapshot: FleetSnapshot,
  event: FleetEvent,
): FleetSnapshot {
  switch (event.type) {
    case "host": {
      // A host an admin just added is not in the snapshot yet.
      const known = snapshot.hosts.some((host) => host.id === event.host.id);
      const hosts = known
        ? snapshot.hosts.map((host) => (host.id === event.host.id ? event.host : host))
        : [...snapshot.hosts, event.host];
      return { ...snapshot, hosts };
    }
    case "host-instances": {
      const others = snapshot.instances.filter((i) => i.host !== event.host);
      return { ...snapshot, instances: [...others, ...event.instances] };
    }
    case "instance": {
      const others = snapshot.instances.filter((i) => !sameKey(i, event.instance));
      return { ...snapshot, instances: [...others, event.instance] };
    }
    case "instance-removed": {
      const instances = snapshot.instances.filter((i) => !sameKey(i, event.key));
      return { ...snapshot, instances };
    }
    case "operation":
      return snapshot;
  }
}

function handleEvent(queryClient: QueryClient, event: FleetEvent) {
  queryClient.setQueryData<FleetSnapshot>(queryKeys.fleet(), (current) =>
    current ? applyFleetEvent(current, event) : current,
  );

  if (event.type === "instance") {
    void queryClient.invalidateQueries({ queryKey: queryKeys.instance(event.instance) });
  } else if (event.type === "instance-removed") {
    void queryClient.invalidateQueries({ queryKey: queryKeys.instance(event.key) });
  } else if (event.type === "host-instances") {
    void queryClient.invalidateQueries({ queryKey: ["instance", event.host] });
  } else if (event.type === "operation") {
    queryClient.setQueryData(["operation", event.operation.host, event.operation.id], event.operation);
  }
}

/** Sent whenever a sandbox's viewers or its controller change. */
interface VncSessionEvent {
  type: "vnc-session";
  session: VncSessionState;
}

function handleVncSessionEvent(queryClient: QueryClient, event: VncSessionEvent) {
  const key = queryKeys.vncSessions();

  // A fetch under way may have read the state before this change, so it
  // starts again rather than overwrite the patch.
  if (queryClient.getQueryState(key)?.fetchStatus === "fetching") {
    void queryClient.invalidateQueries({ queryKey: key });
    return;
  }
  // An unloaded list stays unloaded: its first fetch returns the current state.
  queryClient.setQueryData<VncSessionState[]>(key, (current) =>
    current ? applyVncSessionUpdate(current, event.session) : current,
  );
}

const eventNames: FleetEvent["type"][] = [
  "host",
  "host-instances",
  "instance",
  "instance-removed",
  "operation",
];

/**
 * Keeps one EventSource on /api/events for the whole console and patches the
 * query cache from it. EventSource reconnects by itself; each new connection
 * starts with a full snapshot, which replaces whatever the cache held.
 */
export function FleetEvents({ children }: { children: React.ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<StreamState>("connecting");

  useEffect(() => {
    const source = new EventSource("/api/events");

    source.addEventListener("open", () => setState("live"));
    source.addEventListener("error", () => setState("reconnecting"));
    source.addEventListener("snapshot", (message) => {
      const snapshot = JSON.parse((message as MessageEvent<string>).data) as FleetSnapshot;
      queryClient.setQueryData(queryKeys.fleet(), snapshot);
      void queryClient.invalidateQueries({ queryKey: ["instance"] });
      setState("live");
    });
    for (const name of eventNames) {
      source.addEventListener(name, (message) => {
        const event = JSON.parse((message as MessageEvent<string>).data) as FleetEvent;
        handleEvent(queryClient, event);
      });
    }
    // Users who may watch sessions get the whole list after each snapshot,
    // which replaces changes missed while the stream was down.
    source.addEventListener("vnc-sessions", (message) => {
      const body = JSON.parse((message as MessageEvent<string>).data) as {
        sessions: VncSessionState[];
      };
      queryClient.setQueryData(queryKeys.vncSessions(), body.sessions);
    });
    source.addEventListener("vnc-session", (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as VncSessionEvent;
      handleVncSessionEvent(queryClient, event);
    });

    return () => source.close();
  }, [queryClient]);

  return <StreamStateContext value={state}>{children}</StreamStateContext>;
}
