"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { authClient } from "@/lib/auth/client";
import { OIDC_PROVIDER_ID } from "@/lib/auth/oidc-config";
import { safeNextPath } from "@/lib/auth/redirect";

interface SignInError {
  status: number;
  code?: string;
  message?: string;
}

function describeSignInError(error: SignInError): string {
  if (error.status === 429) {
    return "Too many sign-in attempts. Wait a few seconds, then try again.";
  }
  if (error.status === 401 || error.code === "INVALID_EMAIL_OR_PASSWORD") {
    return "The email or password is incorrect.";
  }
  if (error.code === "INVALID_EMAIL") return "Enter a valid email address.";
  if (error.code === "BANNED_USER") {
    return "This account is disabled. Ask a console admin to enable it again.";
  }
  if (error.code === "INVALID_ORIGIN") {
    return (
      "Sign-in was rejected because this address is not the console's " +
      "configured URL. Open the console at the address in SANDBOX_CONSOLE_URL."
    );
  }
  if (error.status === 0 || error.status >= 500) {
    return "The console server could not complete the sign-in. Try again in a moment.";
  }
  return error.message ?? "Sign-in failed. Try again.";
}

function textField(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/**
 * Renders the email and password form, and the single sign-on button when
 * `singleSignOnLabel` is set, and goes to `next` after sign-in.
 */
export function LoginForm({
  next,
  singleSignOnLabel = null,
  singleSignOnError = null,
}: {
  next: string;
  singleSignOnLabel?: string | null;
  /** The message for a failed single sign-on that returned to this page. */
  singleSignOnError?: string | null;
}) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(singleSignOnError);
  const [pending, setPending] = useState(false);

  async function handleSingleSignOn() {
    setError(null);
    setPending(true);

    const nextPath = safeNextPath(next);
    // The provider's page takes over; on failure Better Auth comes back to
    // this page with the code in ?error=.
    const result = await authClient.signIn
      .social({
        provider: OIDC_PROVIDER_ID,
        callbackURL: nextPath,
        errorCallbackURL: `/login?next=${encodeURIComponent(nextPath)}`,
      })
      .catch(() => null);
    if (!result || result.error) {
      setError(
        "Single sign-on could not start. The identity provider may be unreachable; try again in a moment.",
      );
      setPending(false);
    }
  }

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);

    setError(null);
    setPending(true);

    try {
      const result = await authClient.signIn.email({
        email: textField(form, "email").trim(),
        password: textField(form, "password"),
      });

      if (result.error) {
        setError(describeSignInError(result.error));
        setPending(false);
        return;
      }

      // Stays pending while the next page loads.
      router.replace(safeNextPath(next));
      router.refresh();
    } catch {
      setError(
        "Could not reach the console server. Check your connection and try again.",
      );
      setPending(false);
    }
  }

  return (
    <form onSubmit={(event) => void handleSubmit(event)} className="space-y-5">
      <div className="space-y-1.5">
        <label htmlFor="email" className="block font-medium text-slate-700">
          Email
        </label>
        <input
          id="email"
          name="email"
          type="email"
          autoComplete="username"
          required
          autoFocus
          disabled={pending}
          className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-slate-900 shadow-sm outline-none placeholder:text-slate-400 focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 disabled:bg-slate-50"
        />
      </div>

      <div className="space-y-1.5">
        <label htmlFor="password" className="block font-medium text-slate-700">
          Password
        </label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          disabled={pending}
          className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-slate-900 shadow-sm outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 disabled:bg-slate-50"
        />
      </div>

      <div aria-live="polite" role="status" className="min-h-5">
        {error && (
          <p
            data-testid="login-error"
            className="rounded-md bg-red-50 px-3 py-2 text-red-700"
          >
            {error}
          </p>
        )}
      </div>

      <button
        type="submit"
        disabled={pending}
        className="flex w-full items-center justify-center rounded-md bg-slate-900 px-3 py-2 font-medium text-white shadow-sm hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-wait disabled:bg-slate-600"
      >
        {pending ? "Signing in…" : "Sign in"}
      </button>

      {singleSignOnLabel && (
        <>
          <div className="flex items-center gap-3 text-xs text-slate-400">
            <span className="h-px flex-1 bg-slate-200" />
            or
            <span className="h-px flex-1 bg-slate-200" />
          </div>
          <button
            type="button"
            onClick={() => void handleSingleSignOn()}
            disabled={pending}
            className="flex w-full items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 font-medium text-slate-900 shadow-sm hover:bg-slate-50 disabled:cursor-wait disabled:opacity-60"
          >
            {singleSignOnLabel}
          </button>
        </>
      )}
    </form>
  );
}
