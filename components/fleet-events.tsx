"use client";

import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState } from "react";
import type { FleetEvent, HostStatus } from "@/lib/hosts/watcher";
import type { InstanceSummary } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";

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
      const hosts = snapshot.hosts.map((host) =>
        host.id === event.host.id ? event.host : host,
      );
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

    return () => source.close();
  }, [queryClient]);

  return <StreamStateContext value={state}>{children}</StreamStateContext>;
}
