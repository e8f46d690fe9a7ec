import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginForm } from "@/components/login-form";
import { readOidcConfig } from "@/lib/auth/oidc-config";
import { describeSingleSignOnError } from "@/lib/auth/sign-in-errors";
import { safeNextPath } from "@/lib/auth/redirect";
import { getCurrentUser } from "@/lib/auth/session";
import { log } from "@/lib/log";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { next, error } = await searchParams;
  const nextPath = safeNextPath(typeof next === "string" ? next : null);
  const oidc = readOidcConfig();

  if (await isSignedIn()) redirect(nextPath);

  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center gap-3 text-center">
          <span
            aria-hidden
            className="grid size-10 place-items-center rounded-md bg-sky-500 text-sm font-bold text-white"
          >
            SC
          </span>
          <div>
            <h1 className="text-xl font-semibold tracking-tight text-slate-900">
              Sandbox Console
            </h1>
            <p className="mt-1 text-slate-500">
              Sign in to manage LXD sandboxes.
            </p>
          </div>
        </div>

        <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <LoginForm
            next={nextPath}
            singleSignOnLabel={oidc?.buttonLabel ?? null}
            singleSignOnError={
              typeof error === "string" ? describeSingleSignOnError(error) : null
            }
          />
        </div>

        <p className="mt-6 text-center text-xs text-slate-500">
          Accounts are created by an administrator.
        </p>
      </div>
    </main>
  );
}

// A database outage should still show the form; signing in then fails with
// a message instead of this page failing to render.
async function isSignedIn(): Promise<boolean> {
  try {
    return (await getCurrentUser()) !== null;
  } catch (error) {
    log.error({ err: error }, "login page: session lookup failed");
    return false;
  }
}
