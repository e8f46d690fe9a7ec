"use client";

export default function SessionsError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return (
    <div role="alert" className="mx-auto mt-10 max-w-xl rounded-md border border-red-300 bg-red-50 p-5 text-red-900">
      <h2 className="mb-2 font-semibold">The sessions wall failed to load</h2>
      <p className="mb-4">
        {error.digest
          ? `The server log has the details under digest ${error.digest}.`
          : error.message}{" "}
        Live views of single sandboxes are still on their instance pages.
      </p>
      <button
        type="button"
        onClick={reset}
        className="rounded border border-red-300 bg-white px-3 py-1.5 font-medium hover:bg-red-100"
      >
        Try again
      </button>
    </div>
  );
}
