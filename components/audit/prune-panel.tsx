"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";

import { planPruneAction, pruneAuditAction, type PrunePreview } from "@/app/(console)/audit/actions";
import { useHydrated } from "@/components/use-hydrated";

type Message = { kind: "ok" | "error"; text: string; recordId?: number } | null;

const buttonStyle = "rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50 disabled:opacity-60";

/**
 * Retention pruning for admins: pick a date, see how many rows are older,
 * and confirm that count to remove them.
 */
export function PrunePanel({ defaultBefore }: { defaultBefore: string }) {
  const router = useRouter();
  const [before, setBefore] = useState(defaultBefore);
  const [preview, setPreview] = useState<PrunePreview | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [pending, startTransition] = useTransition();
  // Hydration would reset a date typed before it, so the form waits for it.
  const hydrated = useHydrated();

  const count = () => {
    setMessage(null);
    setPreview(null);
    startTransition(async () => {
      const result = await planPruneAction({ before });
      if (result.ok) setPreview(result.preview);
      else setMessage({ kind: "error", text: result.error });
    });
  };

  const prune = (confirmed: PrunePreview) => {
    setMessage(null);
    startTransition(async () => {
      const result = await pruneAuditAction({ before, expectedRows: confirmed.rows });
      setPreview(null);
      if (!result.ok) {
        setMessage({ kind: "error", text: result.error });
        return;
      }
      if (result.witnessError) {
        setMessage({
          kind: "error",
          text:
            `Removed ${result.removedRows.toLocaleString("en-US")} rows (prune record ${result.recordId}), but ` +
            `writing the prune to the witness file failed: ${result.witnessError} Until then, Verify chain ` +
            "reports this prune as unwitnessed.",
        });
      } else {
        setMessage({
          kind: "ok",
          text: `Removed ${result.removedRows.toLocaleString("en-US")} rows. The prune is recorded as`,
          recordId: result.recordId,
        });
      }
      router.refresh();
    });
  };

  return (
    <section aria-labelledby="prune-heading" className="rounded-md border border-slate-200 bg-white p-4 text-sm">
      <h2 id="prune-heading" className="font-medium">
        Retention
      </h2>
      <p className="mt-1 text-slate-500">
        Removes every row older than the chosen day (midnight UTC) for good. The prune is itself recorded, with the hash
        the remaining chain starts from, so verification still covers what is left.
      </p>

      <div className="mt-3 flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1">
          <span className="text-slate-600">Remove rows older than</span>
          <input
            type="date"
            value={before}
            disabled={!hydrated}
            onChange={(event) => {
              setBefore(event.target.value);
              setPreview(null);
            }}
            className="rounded border border-slate-300 px-2 py-1"
          />
        </label>
        <button type="button" onClick={count} disabled={!hydrated || pending || before === ""} className={buttonStyle}>
          Count rows
        </button>
      </div>

      {preview && (
        <PruneConfirmation preview={preview} pending={pending} onConfirm={() => prune(preview)} onCancel={() => setPreview(null)} />
      )}

      <div aria-live="polite" data-testid="prune-result" className="mt-3 empty:hidden">
        {message?.kind === "error" && (
          <span role="alert" className="text-red-700">
            {message.text}
          </span>
        )}
        {message?.kind === "ok" && (
          <span className="text-emerald-700">
            {message.text}{" "}
            <Link href={`/audit/${message.recordId}`} className="font-medium underline">
              row {message.recordId}
            </Link>
            .
          </span>
        )}
      </div>
    </section>
  );
}

function PruneConfirmation({
  preview,
  pending,
  onConfirm,
  onCancel,
}: {
  preview: PrunePreview;
  pending: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const day = preview.before.slice(0, 10);

  if (preview.rows === 0) {
    return <p className="mt-3 text-slate-600">No rows are older than {day}. Nothing would be removed.</p>;
  }

  const rows = preview.rows.toLocaleString("en-US");
  const noun = preview.rows === 1 ? "row" : "rows";
  return (
    <div role="alertdialog" aria-labelledby="prune-confirm-text" className="mt-3 rounded border border-amber-300 bg-amber-50 p-3">
      <p id="prune-confirm-text" className="text-amber-900">
        {rows} {noun} (ids {preview.firstId} to {preview.lastId}) older than {day} will be removed. This cannot be
        undone.
      </p>
      <div className="mt-2 flex gap-2">
        <button
          type="button"
          onClick={onConfirm}
          disabled={pending}
          className="rounded bg-red-700 px-3 py-1.5 font-medium text-white hover:bg-red-800 disabled:opacity-60"
        >
          {pending ? "Removing…" : `Remove ${rows} ${noun}`}
        </button>
        <button type="button" onClick={onCancel} disabled={pending} className={buttonStyle}>
          Cancel
        </button>
      </div>
    </div>
  );
}
