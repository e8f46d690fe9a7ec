"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { OperationProgressBar } from "@/components/operations/operation-progress";
import { useLiveOperations } from "@/components/operations/use-live-operations";
import type { OperationProgress } from "@/lib/hosts/watcher";

/**
 * Running LXD operations across hosts. The server's list seeds the query
 * cache once, and operation events keep it current from then on.
 */
export function OperationsPanel({
  initial,
  canCancel,
}: {
  initial: OperationProgress[];
  canCancel: boolean;
}) {
  const queryClient = useQueryClient();
  // Seeding in a state initializer runs once, before the first subscription.
  useState(() => {
    for (const operation of initial) {
      if (!queryClient.getQueryData(["operation", operation.host, operation.id])) {
        queryClient.setQueryData(["operation", operation.host, operation.id], operation);
      }
    }
    return null;
  });
  const operations = useLiveOperations(() => true);

  return (
    <section className="space-y-2" aria-live="polite">
      <h2 className="font-semibold">Running ({operations.length})</h2>
      {operations.length === 0 ? (
        <p className="text-slate-500">No operation is running.</p>
      ) : (
        <div className="space-y-3 rounded-md border border-slate-200 bg-white p-4">
          {operations.map((operation) => (
            <OperationProgressBar
              key={`${operation.host}/${operation.id}`}
              operation={operation}
              canCancel={canCancel}
            />
          ))}
        </div>
      )}
    </section>
  );
}
