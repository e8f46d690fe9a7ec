"use client";

import { useRouter } from "next/navigation";
import { Fragment, useState, useTransition } from "react";

import { addHostAction, removeHostAction, testHostAction } from "@/app/(console)/hosts/actions";
import type { HostCheck } from "@/lib/hosts/enrol";
import type { HostRow } from "@/lib/hosts/host-rows";

export type { HostRow } from "@/lib/hosts/host-rows";

type Message = { kind: "ok" | "error"; text: string } | null;

function describeCheck(check: HostCheck): string {
  const base = `${check.id}: LXD ${check.serverVersion} on ${check.serverName}`;
  if (!check.clustered) return `${base}, standalone.`;
  const members = check.members.map((member) => `${member.name} (${member.status})`).join(", ");
  return `${base}, cluster members: ${members}.`;
}

export function HostsView({ hosts }: { hosts: HostRow[] }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<Message>(null);

  const run = (work: () => Promise<Message>) => {
    setMessage(null);
    startTransition(async () => {
      setMessage(await work());
      router.refresh();
    });
  };

  const test = (id: string) =>
    run(async () => {
      const result = await testHostAction({ id });
      return result.ok ? { kind: "ok", text: describeCheck(result.value) } : { kind: "error", text: result.error };
    });

  const remove = (id: string) => {
    if (!window.confirm(`Remove host ${id}? The console stops managing it and drops its certificate from the server.`)) return;
    run(async () => {
      const result = await removeHostAction({ id });
      return result.ok ? { kind: "ok", text: `Host ${id} removed.` } : { kind: "error", text: result.error };
    });
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

      <div className="overflow-x-auto rounded-md border border-slate-200 bg-white">
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-3 py-2 font-medium">Id</th>
              <th className="px-3 py-2 font-medium">Name</th>
              <th className="px-3 py-2 font-medium">Address</th>
              <th className="px-3 py-2 font-medium">From</th>
              <th className="px-3 py-2 font-medium">State</th>
              <th className="px-3 py-2 font-medium">Server certificate</th>
              <th className="px-3 py-2 font-medium" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {hosts.map((host) => (
              <Fragment key={host.id}>
                <tr data-testid={`host-${host.id}`}>
                  <td className="px-3 py-2 font-mono text-xs">{host.id}</td>
                  <td className="px-3 py-2">{host.name}</td>
                  <td className="px-3 py-2 font-mono text-xs">{host.address}</td>
                  <td className="px-3 py-2">{host.source}</td>
                  <td className="px-3 py-2">
                    {host.state}
                    {host.serverVersion ? ` · LXD ${host.serverVersion}` : ""}
                    {host.error && <div className="text-xs text-red-700">{host.error}</div>}
                  </td>
                  <td className="max-w-[14rem] truncate px-3 py-2 font-mono text-xs" title={host.fingerprint ?? undefined}>
                    {host.fingerprint ?? "—"}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right">
                    <button type="button" onClick={() => test(host.id)} disabled={pending} className="rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 disabled:opacity-50">
                      Test
                    </button>
                    {host.source === "console" && (
                      <button type="button" onClick={() => remove(host.id)} disabled={pending} className="ml-2 rounded border border-red-300 px-2 py-1 text-red-700 hover:bg-red-50 disabled:opacity-50">
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
                {host.members.length > 0 && <ClusterMembersRow host={host} />}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>

      <AddHostForm pending={pending} run={run} />
    </div>
  );
}

/** Lists the members of a clustered host's cluster under the host's row. */
function ClusterMembersRow({ host }: { host: HostRow }) {
  return (
    <tr data-testid={`host-${host.id}-members`} className="bg-slate-50/60">
      <td />
      <td colSpan={6} className="px-3 pb-2 pt-1">
        <span className="text-xs font-medium uppercase tracking-wide text-slate-500">
          Cluster members ({host.members.length})
        </span>
        <ul className="mt-1 space-y-0.5">
          {host.members.map((member) => (
            <li key={member.name} data-testid={`member-${member.name}`} className="text-xs">
              <span className="font-mono">{member.name}</span>{" "}
              <span className="text-slate-500">{member.url}</span>{" "}
              <span className={member.status === "Online" ? "text-emerald-700" : "text-red-700"}>
                {member.status}
              </span>
              {member.message && member.message !== "Fully operational" && (
                <span className="text-slate-500"> · {member.message}</span>
              )}
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}

function AddHostForm({
  pending,
  run,
}: {
  pending: boolean;
  run: (work: () => Promise<Message>) => void;
}) {
  const [form, setForm] = useState({ id: "", name: "", url: "https://", token: "" });
  const set = (field: keyof typeof form) => (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    setForm({ ...form, [field]: event.target.value });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    run(async () => {
      const result = await addHostAction(form);
      if (!result.ok) return { kind: "error", text: result.error };
      setForm({ id: "", name: "", url: "https://", token: "" });
      return { kind: "ok", text: `Added. ${describeCheck(result.value)}` };
    });
  };

  return (
    <form onSubmit={submit} className="space-y-3 rounded-md border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Add a host</h2>
      <p className="text-sm text-slate-500">
        On the server, run <code className="rounded bg-slate-100 px-1">lxc config trust add --name sandbox-console</code> and
        paste the token it prints. The console makes its own key pair and pins the server certificate named in the token.
      </p>
      <div className="grid gap-3 sm:grid-cols-3">
        <label className="block">
          <span className="text-sm font-medium">Id</span>
          <input value={form.id} onChange={set("id")} required pattern="[a-z][a-z0-9\-]{0,30}" placeholder="lab-2" className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5 font-mono text-sm" />
        </label>
        <label className="block">
          <span className="text-sm font-medium">Name</span>
          <input value={form.name} onChange={set("name")} required placeholder="Lab server 2" className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5" />
        </label>
        <label className="block">
          <span className="text-sm font-medium">Address</span>
          <input value={form.url} onChange={set("url")} required placeholder="https://10.0.0.5:8443" className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5 font-mono text-sm" />
        </label>
      </div>
      <label className="block">
        <span className="text-sm font-medium">Trust token</span>
        <textarea value={form.token} onChange={set("token")} required rows={3} autoComplete="off" spellCheck={false} className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5 font-mono text-xs" />
      </label>
      <div className="flex justify-end">
        <button type="submit" disabled={pending} className="rounded bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-700 disabled:opacity-50">
          {pending ? "Working…" : "Add host"}
        </button>
      </div>
    </form>
  );
}
