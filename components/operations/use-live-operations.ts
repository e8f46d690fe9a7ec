"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { touchesInstance } from "@/lib/hosts/operation-text";
import type { OperationProgress } from "@/lib/hosts/watcher";

export { touchesInstance };

const finalStatuses = new Set(["Success", "Failure", "Cancelled"]);

/**
 * Returns the running LXD operations that match `filter`, from the
 * operation events that FleetEvents puts in the query cache under
 * ["operation", host, id]. It updates with every such event.
 */
export function useLiveOperations(
  filter: (operation: OperationProgress) => boolean,
  enabled = true,
): OperationProgress[] {
  const queryClient = useQueryClient();
  const [operations, setOperations] = useState<OperationProgress[]>([]);

  useEffect(() => {
    if (!enabled) return;
    const cache = queryClient.getQueryCache();

    const collect = () => {
      const found = cache
        .findAll({ queryKey: ["operation"] })
        .map((query) => query.state.data as OperationProgress | undefined)
        .filter((operation): operation is OperationProgress => operation !== undefined)
        .filter((operation) => !finalStatuses.has(operation.status) && filter(operation));
      setOperations((current) =>
        JSON.stringify(current) === JSON.stringify(found) ? current : found,
      );
    };

    collect();
    return cache.subscribe(collect);
    // The filter is a fresh closure on each render; the effect keys on `enabled`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queryClient, enabled]);

  return enabled ? operations : [];
}

/**
 * Returns the running LXD operations on any of the instances in `keys`,
 * while `enabled` is true, such as during a toolbox action on them.
 */
export function useInstanceOperations(
  keys: readonly { host: string; name: string }[],
  enabled: boolean,
): OperationProgress[] {
  return useLiveOperations(
    (operation) =>
      keys.some((key) => operation.host === key.host && touchesInstance(operation, key.name)),
    enabled,
  );
}
