import Link from "next/link";

export default function NotFound() {
  return (
    <div className="mx-auto mt-10 max-w-xl rounded-md border border-slate-200 bg-white p-6">
      <h1 className="mb-2 text-lg font-semibold">Instance not found</h1>
      <p className="mb-4 text-slate-600">
        No instance has that host, project and name. Instance names are 1 to 63 letters, digits
        and hyphens, starting with a letter; the host must be one of the configured hosts.
      </p>
      <Link href="/instances" className="text-sky-700 hover:underline">
        Back to the instances
      </Link>
    </div>
  );
}
