import Link from "next/link";

import { getCurrentUser } from "@/lib/auth/session";

/**
 * Shown with status 403 when a signed-in user opens a page their role does
 * not allow. The refusal is already in the audit log.
 */
export default async function Forbidden() {
  const user = await getCurrentUser();
  const role = user ? ` (${user.role})` : "";

  return (
    <div className="mx-auto mt-16 max-w-xl rounded-md border border-slate-200 bg-white p-6">
      <h1 className="mb-2 text-lg font-semibold">Not allowed</h1>
      <p className="mb-4 text-slate-600">
        Your role{role} does not allow opening this page. Ask an admin to change your role if
        you need it.
      </p>
      <Link href="/instances" className="text-sky-700 hover:underline">
        Back to the instances
      </Link>
    </div>
  );
}
