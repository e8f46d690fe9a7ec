"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";

import {
  changeRoleAction,
  createAccountAction,
  disableAccountAction,
  enableAccountAction,
  resetPasswordAction,
  setSessionControlAction,
  signOutEverywhereAction,
  type AccountResult,
} from "@/app/(console)/admin/users/actions";
import type { AccountSummary, OneTimePassword } from "@/lib/auth/accounts";
import { roles, type Role } from "@/lib/auth/permissions";

type Message = { kind: "ok" | "error"; text: string } | null;

/** A one-time password on screen, with the account it belongs to. */
interface ShownPassword {
  email: string;
  password: string;
  reason: "created" | "reset";
}

type Run = (work: () => Promise<Message>) => void;

function formatTime(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

function describeMethods(methods: string[]): string {
  if (methods.length === 0) return "none";
  return methods.map((method) => (method === "password" ? "password" : "single sign-on")).join(", ");
}

function outcome<T>(result: AccountResult<T>, text: (value: T) => string): Message {
  return result.ok ? { kind: "ok", text: text(result.value) } : { kind: "error", text: result.error };
}

export function AccountsView({ accounts, currentUserId }: { accounts: AccountSummary[]; currentUserId: string }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<Message>(null);
  const [shown, setShown] = useState<ShownPassword | null>(null);

  const run: Run = (work) => {
    setMessage(null);
    startTransition(async () => {
      setMessage(await work());
      router.refresh();
    });
  };

  const showPassword = (result: AccountResult<OneTimePassword>, reason: ShownPassword["reason"]) => {
    if (result.ok) setShown({ email: result.value.account.email, password: result.value.password, reason });
  };

  return (
    <div className="space-y-6">
      <div aria-live="polite">
        {message && (
          <p
            role={message.kind === "error" ? "alert" : "status"}
            className={`rounded border px-3 py-2 ${message.kind === "error" ? "border-red-200 bg-red-50 text-red-800" : "border-emerald-200 bg-emerald-50 text-emerald-800"}`}
          >
            {message.text}
          </p>
        )}
      </div>

      {shown && <OneTimePasswordPanel shown={shown} onDone={() => setShown(null)} />}

      <div className="overflow-x-auto rounded-md border border-slate-200 bg-white">
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-3 py-2 font-medium">Account</th>
              <th className="px-3 py-2 font-medium">Role</th>
              <th className="px-3 py-2 font-medium">Session control</th>
              <th className="px-3 py-2 font-medium">Status</th>
              <th className="px-3 py-2 font-medium">Sign-in</th>
              <th className="px-3 py-2 font-medium">Last sign-in</th>
              <th className="px-3 py-2 font-medium">Created</th>
              <th className="px-3 py-2 font-medium" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {accounts.map((account) => (
              <AccountRow
                key={account.id}
                account={account}
                isSelf={account.id === currentUserId}
                pending={pending}
                run={run}
                onPassword={(result) => showPassword(result, "reset")}
              />
            ))}
          </tbody>
        </table>
      </div>

      <CreateAccountForm pending={pending} run={run} onCreated={(result) => showPassword(result, "created")} />
    </div>
  );
}

function AccountRow({
  account,
  isSelf,
  pending,
  run,
  onPassword,
}: {
  account: AccountSummary;
  isSelf: boolean;
  pending: boolean;
  run: Run;
  onPassword: (result: AccountResult<OneTimePassword>) => void;
}) {
  const target = { userId: account.id };

  const changeRole = (role: Role) =>
    run(async () =>
      outcome(await changeRoleAction({ ...target, role }), (value) => `${value.email} is now ${value.role}.`),
    );

  const toggleControl = () =>
    run(async () =>
      outcome(await setSessionControlAction({ ...target, granted: !account.sessionControl }), (value) =>
        value.sessionControl
          ? `${value.email} may now take control of sandbox sessions.`
          : `${value.email} may no longer take control of sandbox sessions; their open views were closed.`,
      ),
    );

  const toggleDisabled = () => {
    if (!account.disabled && !window.confirm(`Disable ${account.email}? They are signed out everywhere at once and cannot sign in until enabled again.`)) return;
    run(async () =>
      account.disabled
        ? outcome(await enableAccountAction(target), (value) => `${value.email} is active again.`)
        : outcome(await disableAccountAction(target), (value) => `${value.email} is disabled and signed out everywhere.`),
    );
  };

  const reset = () => {
    if (!window.confirm(`Reset the password of ${account.email}? They are signed out everywhere and must change the new password at their next sign-in.`)) return;
    run(async () => {
      const result = await resetPasswordAction(target);
      onPassword(result);
      return outcome(result, (value) => `New one-time password set for ${value.account.email}; they are signed out everywhere.`);
    });
  };

  const signOut = () =>
    run(async () =>
      outcome(await signOutEverywhereAction(target), (value) => `${value.email} is signed out of every browser.`),
    );

  const button = "rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 disabled:opacity-50";

  return (
    <tr data-testid={`account-${account.email}`} className={account.disabled ? "bg-slate-50 text-slate-500" : undefined}>
      <td className="px-3 py-2">
        <div className="font-medium text-slate-900">{account.name}</div>
        <div className="text-xs">{account.email}{isSelf && " (you)"}</div>
      </td>
      <td className="px-3 py-2">
        <select
          aria-label={`Role of ${account.email}`}
          value={account.role}
          disabled={pending || isSelf}
          title={isSelf ? "Another admin must change your role." : undefined}
          onChange={(event) => changeRole(event.target.value as Role)}
          className="rounded border border-slate-300 bg-white px-2 py-1"
        >
          {roles.map((role) => (
            <option key={role} value={role}>
              {role}
            </option>
          ))}
        </select>
      </td>
      <td className="px-3 py-2">
        {account.role === "support" ? (
          <button type="button" onClick={toggleControl} disabled={pending} className={button}>
            {account.sessionControl ? "Revoke control" : "Grant control"}
          </button>
        ) : (
          <span className="text-xs text-slate-500">{account.role === "admin" ? "by role" : "never"}</span>
        )}
      </td>
      <td className="px-3 py-2">
        <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${account.disabled ? "bg-red-100 text-red-800" : "bg-emerald-100 text-emerald-800"}`}>
          {account.disabled ? "disabled" : "active"}
        </span>
        {account.mustChangePassword && <div className="mt-1 text-xs text-amber-700">must change password</div>}
        <div className="mt-1 text-xs text-slate-500">
          {account.activeSessions} {account.activeSessions === 1 ? "session" : "sessions"}
        </div>
      </td>
      <td className="px-3 py-2 text-xs">{describeMethods(account.signInMethods)}</td>
      <td className="whitespace-nowrap px-3 py-2 text-xs">{formatTime(account.lastSignInAt)}</td>
      <td className="whitespace-nowrap px-3 py-2 text-xs">{formatTime(account.createdAt)}</td>
      <td className="whitespace-nowrap px-3 py-2 text-right">
        <div className="flex justify-end gap-2">
          {account.signInMethods.includes("password") && !isSelf && (
            <button type="button" onClick={reset} disabled={pending} className={button}>
              Reset password
            </button>
          )}
          <button type="button" onClick={signOut} disabled={pending || account.activeSessions === 0} className={button}>
            Sign out everywhere
          </button>
          <button
            type="button"
            onClick={toggleDisabled}
            disabled={pending || isSelf}
            title={isSelf ? "Another admin must disable your account." : undefined}
            className={account.disabled ? button : "rounded border border-red-300 px-2 py-1 text-red-700 hover:bg-red-50 disabled:opacity-50"}
          >
            {account.disabled ? "Enable" : "Disable"}
          </button>
        </div>
      </td>
    </tr>
  );
}

function OneTimePasswordPanel({ shown, onDone }: { shown: ShownPassword; onDone: () => void }) {
  const [copied, setCopied] = useState(false);

  const copy = async () => {
    await navigator.clipboard.writeText(shown.password);
    setCopied(true);
  };

  return (
    <section aria-label="One-time password" className="space-y-3 rounded-md border border-amber-300 bg-amber-50 p-4">
      <h2 className="font-semibold text-amber-900">
        {shown.reason === "created" ? "Account created" : "Password reset"}: one-time password for {shown.email}
      </h2>
      <div className="flex items-center gap-3">
        <code data-testid="one-time-password" className="select-all rounded border border-amber-300 bg-white px-3 py-1.5 font-mono text-base">
          {shown.password}
        </code>
        <button type="button" onClick={() => void copy()} className="rounded border border-amber-400 px-2 py-1 text-sm hover:bg-amber-100">
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <p className="text-sm text-amber-900">
        This password is shown only now and is not stored anywhere you can read it again. The console has no mail
        server and sends no email, so give it to {shown.email} over a channel you trust. They must choose their own
        password when they first sign in with it.
      </p>
      <button type="button" onClick={onDone} className="rounded bg-amber-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-amber-800">
        I have passed it on
      </button>
    </section>
  );
}

function CreateAccountForm({
  pending,
  run,
  onCreated,
}: {
  pending: boolean;
  run: Run;
  onCreated: (result: AccountResult<OneTimePassword>) => void;
}) {
  const empty = { email: "", name: "", role: "support" as Role };
  const [form, setForm] = useState(empty);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    run(async () => {
      const result = await createAccountAction(form);
      onCreated(result);
      if (result.ok) setForm(empty);
      return outcome(result, (value) => `Created ${value.account.email} with the role ${value.account.role}.`);
    });
  };

  return (
    <form onSubmit={submit} className="space-y-3 rounded-md border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Create an account</h2>
      <p className="text-sm text-slate-500">
        The console makes a one-time password and shows it to you once. No email is sent, since the console has no
        mail server: pass the password on yourself. The user must change it at their first sign-in.
      </p>
      <div className="grid gap-3 sm:grid-cols-3">
        <label className="block">
          <span className="text-sm font-medium">Email</span>
          <input type="email" value={form.email} onChange={(event) => setForm({ ...form, email: event.target.value })} required className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5" />
        </label>
        <label className="block">
          <span className="text-sm font-medium">Name</span>
          <input value={form.name} onChange={(event) => setForm({ ...form, name: event.target.value })} required className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5" />
        </label>
        <label className="block">
          <span className="text-sm font-medium">Role</span>
          <select aria-label="Role of the new account" value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value as Role })} className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1.5">
            {roles.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="flex justify-end">
        <button type="submit" disabled={pending} className="rounded bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-700 disabled:opacity-50">
          {pending ? "Working…" : "Create account"}
        </button>
      </div>
    </form>
  );
}
