"use client";

import Link from "next/link";
import { useState, useTransition } from "react";

import { verifyChainAction, type VerifyChainResult } from "@/app/(console)/audit/actions";
import type { WitnessReport } from "@/lib/audit/witness";
import { formatTime } from "@/lib/format";

/** Witness problems listed at most; the rest are counted. */
const SHOWN_PROBLEMS = 5;

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
      <div aria-live="polite" data-testid="verify-chain-result" className="space-y-1">
        {result && <ChainResult result={result} />}
        {result?.ok && <WitnessResult witness={result.witness} />}
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
        Chain intact: {plural(report.checkedRows, "row", "rows")} checked in {elapsedMs} ms
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

function plural(count: number, one: string, many: string): string {
  return count === 1 ? `1 ${one}` : `${count} ${many}`;
}

function WitnessResult({ witness }: { witness: WitnessReport | { error: string } }) {
  if ("error" in witness) {
    return <p className="text-red-700">The witness file could not be checked: {witness.error}</p>;
  }

  const { problems } = witness;
  return (
    <div data-testid="witness-result" className="space-y-1">
      {witness.writeError && (
        <p role="alert" className="text-red-700">
          The console could not write the witness file: {witness.writeError}
        </p>
      )}
      {witness.entries === 0 ? (
        <p className={witness.rowsBeforeWitness > 0 ? "text-amber-800" : "text-slate-600"}>
          {witness.exists ? "The witness file" : "No witness file"} at {witness.file}
          {witness.exists ? " is empty" : ""}
          {witness.rowsBeforeWitness > 0 && `, while the log holds ${plural(witness.rowsBeforeWitness, "row", "rows")}`}.
          The console writes the newest row to it at start and every 5 minutes. If the file was removed,
          rows cut from the end of the log can no longer be shown: restore it from a backup.
        </p>
      ) : problems.length === 0 ? (
        <p className="text-emerald-700">
          Witness file matches:{" "}
          {witness.witnessedRows === 1
            ? `the row written down outside the database at ${formatTime(witness.firstRecordedAt)} UTC is unchanged or was removed by a recorded prune.`
            : `all ${witness.witnessedRows} rows written down outside the database since ${formatTime(witness.firstRecordedAt)} UTC are unchanged or were removed by a recorded prune.`}
          {witness.rowsBeforeWitness > 0 &&
            ` ${plural(witness.rowsBeforeWitness, "older row", "older rows")} ${
              witness.rowsBeforeWitness === 1 ? "is" : "are"
            } covered by the chain alone.`}
        </p>
      ) : (
        <div role="alert" className="text-red-700">
          <p>
            But the log differs from {plural(witness.witnessedRows, "row", "rows")} written down in {witness.file}:
          </p>
          <ul className="ml-5 list-disc">
            {problems.slice(0, SHOWN_PROBLEMS).map((problem) => (
              <li key={`${problem.kind}-${problem.id}`}>{problem.message}</li>
            ))}
          </ul>
          {problems.length > SHOWN_PROBLEMS && <p>and {problems.length - SHOWN_PROBLEMS} more.</p>}
          <p>
            Compare the log with a database backup, or with the witness lines in the console&apos;s log
            (&quot;audit chain witness recorded&quot;), to find what changed.
          </p>
        </div>
      )}
      {witness.invalidLines > 0 && (
        <p role="alert" className="text-amber-800">
          {plural(witness.invalidLines, "line", "lines")} of {witness.file} could not be read. A line cut off
          by a crash is harmless; any other means the file was edited, so compare it with the logged witness
          lines.
        </p>
      )}
    </div>
  );
}
