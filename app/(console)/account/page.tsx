import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { ChangePasswordForm } from "@/components/account/change-password-form";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "@/lib/auth/auth";
import { getCurrentUser } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Account" };
export const dynamic = "force-dynamic";

export default async function AccountPage() {
  // Every signed-in user has an account page, whatever their role.
  const user = await getCurrentUser();
  if (!user) redirect(`/login?next=${encodeURIComponent("/account")}`);

  return (
    <div className="mx-auto max-w-xl space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Account</h1>
        <p className="text-slate-500">Your sign-in details.</p>
      </div>

      {user.mustChangePassword && (
        <p
          role="alert"
          className="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-amber-900"
        >
          An admin set your password. Choose your own below before you use
          the rest of the console.
        </p>
      )}

      <dl className="grid grid-cols-[8rem_1fr] gap-y-2 rounded-md border border-slate-200 bg-white p-5">
        <dt className="text-slate-500">Name</dt>
        <dd>{user.name}</dd>
        <dt className="text-slate-500">Email</dt>
        <dd className="break-all">{user.email}</dd>
        <dt className="text-slate-500">Role</dt>
        <dd>{user.role}</dd>
      </dl>

      <section className="space-y-4 rounded-md border border-slate-200 bg-white p-5">
        <div>
          <h2 className="font-semibold">Change password</h2>
          <p className="text-slate-500">
            Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.
            Changing it signs you out everywhere else, but this browser stays
            signed in.
          </p>
        </div>
        <ChangePasswordForm />
      </section>
    </div>
  );
}
