"use client";

import Link from "next/link";
import { useState, useTransition } from "react";

import { verifyChainAction, type VerifyChainResult } from "@/app/(console)/audit/actions";

const reasons = {
  prev_hash_mismatch:
    "its prev_hash does not match the hash of the row before it, or for the first row the hash the newest prune recorded (a row was removed, inserted or reordered)",
  hash_mismatch: "its hash does not match its fields (the row was changed)",
} as const;

/** Runs the hash chain verification and shows the first broken row, if any. */
export function VerifyChainButton() {
  const [result, setResult] = useState<VerifyChainResult | null>(null);
  const [pending, startTransition] = useTransition();

  const verify = () => {
    startTransition(async () => {
      setResult(await verifyChainAction());
    });
  };

  return (
    <div className="flex flex-wrap items-center gap-3 text-sm">
      <button
        type="button"
        onClick={verify}
        disabled={pending}
        className="rounded border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50 disabled:opacity-60"
      >
        {pending ? "Verifying…" : "Verify chain"}
      </button>
      <div aria-live="polite" data-testid="verify-chain-result">
        {result && <ChainResult result={result} />}
      </div>
    </div>
  );
}

function ChainResult({ result }: { result: VerifyChainResult }) {
  if (!result.ok) return <span className="text-red-700">{result.error}</span>;

  const { report, elapsedMs } = result;
  const broken = report.firstBroken;
  if (!broken) {
    return (
      <span className="text-emerald-700">
        Chain intact: {report.checkedRows} rows checked in {elapsedMs} ms
        {report.anchor && (
          <>
            , starting after row {report.anchor.lastRemovedId} as the prune in{" "}
            <Link href={`/audit/${report.anchor.recordId}`} className="font-medium underline">
              row {report.anchor.recordId}
            </Link>{" "}
            records
          </>
        )}
        .
      </span>
    );
  }
  return (
    <span role="alert" className="text-red-700">
      Chain broken at{" "}
      <Link href={`/audit/${broken.id}`} className="font-medium underline">
        row {broken.id}
      </Link>
      : {reasons[broken.reason]}.
    </span>
  );
}
