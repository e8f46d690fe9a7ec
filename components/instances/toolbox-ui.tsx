"use client";

import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, useTransition } from "react";

import {
  loadToolboxAction,
  type ToolboxResult,
  type ToolboxView,
} from "@/app/(console)/instances/toolbox-actions";
import { RunningOperations } from "@/components/operations/running-operations";
import { useInstanceOperations } from "@/components/operations/use-live-operations";
import type { InstanceKey } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";

export const buttonClass =
  "rounded border border-slate-300 bg-white px-3 py-1.5 font-medium text-slate-800 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50";

export const dangerButtonClass =
  "rounded border border-red-300 bg-red-600 px-3 py-1.5 font-medium text-white shadow-sm hover:bg-red-700 disabled:cursor-not-allowed disabled:opacity-50";

export const inputClass =
  "w-full rounded border border-slate-300 px-2 py-1 font-mono text-xs focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500";

/** Query key of the toolbox data of one instance: snapshots, limits, presets. */
export function toolboxQueryKey(key: InstanceKey) {
  return ["instance-toolbox", key.host, key.project, key.name] as const;
}

/**
 * Loads the toolbox data of one instance through the server action. The
 * status is part of the key, because what a snapshot may do (stateful or
 * not) and the usage shown depend on it. The previous data stays on screen
 * while a new status loads, because LXD freezes a container for a moment
 * during a snapshot and the panels, with their messages, must not unmount.
 */
export function useToolbox(key: InstanceKey, status: string) {
  return useQuery({
    queryKey: [...toolboxQueryKey(key), status],
    placeholderData: keepPreviousData,
    queryFn: async (): Promise<ToolboxView> => {
      const result = await loadToolboxAction(key);
      if (!result.ok) throw new Error(result.error);
      return result;
    },
  });
}

export type Feedback = { kind: "ok" | "error"; text: string } | null;

/**
 * Runs one server action at a time, keeps its outcome as feedback, and
 * refreshes the instance and its toolbox data afterwards.
 */
export function useToolboxAction(key: InstanceKey) {
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [feedback, setFeedback] = useState<Feedback>(null);

  const run = <T extends object>(
    action: () => Promise<ToolboxResult<T>>,
    success: (result: T) => string,
    after?: (result: ToolboxResult<T>) => void,
  ) => {
    setFeedback(null);
    startTransition(async () => {
      const result = await action();
      setFeedback(
        result.ok
          ? { kind: "ok", text: success(result) }
          : { kind: "error", text: result.error },
      );
      after?.(result);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: toolboxQueryKey(key) }),
        queryClient.invalidateQueries({ queryKey: queryKeys.instance(key) }),
      ]);
    });
  };

  return { pending, feedback, setFeedback, run };
}

/**
 * Shows the running action's label with the progress of its LXD operations
 * on `instances` (and a Cancel button where LXD allows it) while `busy` is
 * set, and the outcome of the last action after.
 */
export function ActionStatus({
  instances,
  busy,
  feedback,
  testId,
  canCancel,
}: {
  instances: readonly InstanceKey[];
  busy: string | null;
  feedback: Feedback;
  testId: string;
  canCancel: boolean;
}) {
  const operations = useInstanceOperations(instances, busy !== null);
  if (busy !== null) {
    return <RunningOperations label={busy} operations={operations} canCancel={canCancel} />;
  }
  return <FeedbackLine feedback={feedback} busy={null} testId={testId} />;
}

/** Shows the outcome of the last action and announces it to screen readers. */
export function FeedbackLine({
  feedback,
  busy,
  testId,
}: {
  feedback: Feedback;
  busy: string | null;
  testId: string;
}) {
  const colour = feedback?.kind === "error" ? "text-red-700" : "text-emerald-700";
  return (
    <p aria-live="polite" data-testid={testId} className={`min-h-5 text-sm ${busy ? "text-slate-600" : colour}`}>
      {busy ?? feedback?.text}
    </p>
  );
}

/** Shows a modal dialog with a title, closed by Escape or a click on the backdrop. */
export function Modal({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: React.ReactNode;
}) {
  const titleId = useId();
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    panel.current?.querySelector<HTMLElement>("input, textarea, button")?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  return (
    <div className="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/40 p-4" onClick={onClose}>
      <div
        ref={panel}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onClick={(event) => event.stopPropagation()}
        className="w-full max-w-lg space-y-4 rounded-md border border-slate-200 bg-white p-5 shadow-xl"
      >
        <h2 id={titleId} className="text-lg font-semibold">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}

/** Renders a dialog's Cancel button and its red confirm button. */
export function ConfirmButtons({
  label,
  disabled = false,
  onCancel,
  onConfirm,
}: {
  label: string;
  disabled?: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  return (
    <div className="flex justify-end gap-2">
      <button type="button" className={buttonClass} onClick={onCancel}>
        Cancel
      </button>
      <button type="button" className={dangerButtonClass} disabled={disabled} onClick={onConfirm}>
        {label}
      </button>
    </div>
  );
}

/** Renders a titled box that matches the instance page's other sections. */
export function Panel({
  title,
  wide = false,
  children,
}: {
  title: string;
  wide?: boolean;
  children: React.ReactNode;
}) {
  return (
    <section
      aria-label={title}
      className={`min-w-0 rounded-md border border-slate-200 bg-white ${wide ? "xl:col-span-2" : ""}`}
    >
      <h2 className="border-b border-slate-200 px-4 py-2.5 font-semibold">{title}</h2>
      {/* Snapshot and preset names may be long words, which must wrap, not widen the page. */}
      <div className="min-w-0 space-y-4 p-4 wrap-anywhere">{children}</div>
    </section>
  );
}
