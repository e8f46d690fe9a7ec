"use client";

import { useRouter } from "next/navigation";
import { useRef, useState, useTransition, type FormEvent } from "react";

const fields = [
  {
    name: "currentPassword",
    label: "Current password",
    autoComplete: "current-password",
  },
  { name: "newPassword", label: "New password", autoComplete: "new-password" },
  {
    name: "confirmPassword",
    label: "New password again",
    autoComplete: "new-password",
  },
] as const;

function textField(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/**
 * Sends the change to /api/account/password and returns null on success or
 * the error message to show.
 */
async function requestPasswordChange(
  input: Record<string, string>,
): Promise<string | null> {
  const response = await fetch("/api/account/password", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  if (response.ok) return null;

  const body = (await response.json().catch(() => null)) as {
    error?: { message?: string };
  } | null;
  return (
    body?.error?.message ??
    `The password change failed with HTTP ${response.status}. Try again.`
  );
}

/** Renders the password change form and reports the server's result. */
export function ChangePasswordForm() {
  const router = useRouter();
  const formRef = useRef<HTMLFormElement>(null);
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<{
    kind: "ok" | "error";
    text: string;
  } | null>(null);

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      currentPassword: textField(form, "currentPassword"),
      newPassword: textField(form, "newPassword"),
      confirmPassword: textField(form, "confirmPassword"),
    };

    setMessage(null);
    startTransition(async () => {
      try {
        const error = await requestPasswordChange(input);
        if (error === null) {
          formRef.current?.reset();
          // The page drops its notice about a password set by an admin.
          router.refresh();
          setMessage({
            kind: "ok",
            text: "Password changed. Your other sessions are signed out.",
          });
        } else {
          setMessage({ kind: "error", text: error });
        }
      } catch {
        setMessage({
          kind: "error",
          text: "Could not reach the console server. Check your connection and try again.",
        });
      }
    });
  }

  return (
    <form ref={formRef} onSubmit={handleSubmit} className="space-y-4">
      {fields.map((field) => (
        <div key={field.name} className="space-y-1.5">
          <label
            htmlFor={field.name}
            className="block font-medium text-slate-700"
          >
            {field.label}
          </label>
          <input
            id={field.name}
            name={field.name}
            type="password"
            autoComplete={field.autoComplete}
            required
            disabled={pending}
            className="w-full rounded-md border border-slate-300 px-3 py-2 outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-200"
          />
        </div>
      ))}

      <div aria-live="polite" className="min-h-6">
        {message && (
          <p
            role={message.kind === "error" ? "alert" : "status"}
            data-testid="password-message"
            className={
              message.kind === "error" ? "text-red-700" : "text-emerald-700"
            }
          >
            {message.text}
          </p>
        )}
      </div>

      <button
        type="submit"
        disabled={pending}
        className="rounded-md bg-slate-900 px-4 py-2 font-medium text-white hover:bg-slate-800 disabled:opacity-60"
      >
        {pending ? "Changing…" : "Change password"}
      </button>
    </form>
  );
}
