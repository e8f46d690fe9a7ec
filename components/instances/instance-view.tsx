"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { StatusBadge } from "@/components/status-badge";
import { InstanceActions } from "@/components/instances/instance-actions";
import { IncidentDialog } from "@/components/instances/incident-dialog";
import { InstanceToolbox } from "@/components/instances/instance-toolbox";
import { MoveButtons } from "@/components/instances/move-buttons";
import { LiveView } from "@/components/vnc/live-view";
import type { InstanceDetail, InstanceKey } from "@/lib/instances/types";
import { formatAge, formatBytes, formatCpuTime, formatTime } from "@/lib/format";
import { queryKeys } from "@/lib/query-keys";

async function fetchDetail(key: InstanceKey): Promise<InstanceDetail> {
  const path = [key.host, key.project, key.name].map(encodeURIComponent).join("/");
  const response = await fetch(`/api/instances/${path}`);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as
      | { error?: { message?: string } }
      | null;
    throw new Error(body?.error?.message ?? `Loading the instance failed (HTTP ${response.status})`);
  }
  return (await response.json()) as InstanceDetail;
}

export function InstanceView({
  instanceKey,
  initial,
  loadError,
  canOperate,
}: {
  instanceKey: InstanceKey;
  initial: InstanceDetail | null;
  loadError: string | null;
  canOperate: boolean;
}) {
  const query = useQuery({
    queryKey: queryKeys.instance(instanceKey),
    queryFn: () => fetchDetail(instanceKey),
    initialData: initial ?? undefined,
    staleTime: Infinity,
  });
  const detail = query.data;
  const error = query.error?.message ?? (detail ? null : loadError);

  return (
    <div className="space-y-5">
      <nav aria-label="Breadcrumb" className="text-slate-500">
        <Link href="/instances" className="hover:underline">
          Instances
        </Link>
        <span className="mx-2">/</span>
        {instanceKey.host} / {instanceKey.project}
      </nav>

      <div className="flex flex-wrap items-center gap-4">
        <h1 className="text-2xl font-semibold tracking-tight">{instanceKey.name}</h1>
        {detail && <StatusBadge status={detail.summary.status} />}
        {detail && (
          <div className="ml-auto flex items-start gap-4">
            <IncidentDialog instanceKey={instanceKey} canOperate={canOperate} />
            <MoveButtons
              instanceKey={instanceKey}
              snapshots={detail.snapshots}
              canOperate={canOperate}
            />
            <InstanceActions
              instanceKey={instanceKey}
              status={detail.summary.status}
              canOperate={canOperate}
            />
          </div>
        )}
      </div>

      {error && (
        <div role="alert" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-red-800">
          {error}
        </div>
      )}

      {detail && (
        <LiveView instanceKey={instanceKey} summary={detail.summary} canOperate={canOperate} />
      )}

      {detail && <DetailSections detail={detail} />}

      {detail && (
        <InstanceToolbox instanceKey={instanceKey} status={detail.summary.status} canOperate={canOperate} />
      )}
    </div>
  );
}

function DetailSections({ detail }: { detail: InstanceDetail }) {
  const { summary } = detail;
  const usage = summary.usage;
  const ownKeys = new Set(Object.keys(detail.config));
  const configEntries = Object.entries(detail.expandedConfig)
    .filter(([name]) => !name.startsWith("volatile."))
    .sort(([a], [b]) => a.localeCompare(b));

  return (
    <div className="grid gap-5 xl:grid-cols-2">
      <Section title="Overview">
        <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2">
          <Field label="Type">{summary.type === "container" ? "Container" : "Virtual machine"}</Field>
          <Field label="Image">{summary.imageDescription ?? "—"}</Field>
          <Field label="Sandbox kind">{summary.sandboxKind ?? "—"}</Field>
          <Field label="Architecture">{detail.architecture}</Field>
          <Field label="Location">{summary.location ?? "standalone server"}</Field>
          <Field label="Profiles">{summary.profiles.join(", ") || "—"}</Field>
          <Field label="Created">
            {formatTime(summary.createdAt)} UTC ({formatAge(summary.createdAt)})
          </Field>
          <Field label="Last used">{formatTime(summary.lastUsedAt)}</Field>
          <Field label="Ephemeral">{detail.ephemeral ? "yes" : "no"}</Field>
          <Field label="Description">{summary.description || "—"}</Field>
        </dl>
      </Section>

      <Section title="State">
        <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2">
          <Field label="Status">{summary.status}</Field>
          <Field label="Init PID">{detail.pid ?? "—"}</Field>
          <Field label="Processes">{usage?.processes ?? "—"}</Field>
          <Field label="CPU time">{formatCpuTime(usage?.cpuNs)}</Field>
          <Field label="Memory">
            {formatBytes(usage?.memoryBytes)}
            {usage?.memoryLimitBytes ? ` of ${formatBytes(usage.memoryLimitBytes)}` : ""}
          </Field>
          <Field label="Root disk">{formatBytes(usage?.rootDiskBytes)}</Field>
          <Field label="Limits">
            cpu {detail.expandedConfig["limits.cpu"] ?? "unlimited"}, memory{" "}
            {detail.expandedConfig["limits.memory"] ?? "unlimited"}, processes{" "}
            {detail.expandedConfig["limits.processes"] ?? "unlimited"}
          </Field>
        </dl>
      </Section>

      <Section title="Devices">
        <table className="w-full text-left">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-1 font-medium">Name</th>
              <th className="py-1 font-medium">Type</th>
              <th className="py-1 font-medium">Settings</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {Object.entries(detail.expandedDevices).map(([name, device]) => (
              <tr key={name}>
                <td className="py-1.5 font-mono text-xs">{name}</td>
                <td className="py-1.5">{device.type}</td>
                <td className="py-1.5 font-mono text-xs text-slate-600">
                  {Object.entries(device)
                    .filter(([setting]) => setting !== "type")
                    .map(([setting, value]) => `${setting}=${value}`)
                    .join("  ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>

      <Section title="Configuration" wide>
        <table className="w-full text-left">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="w-1/3 py-1 font-medium">Key</th>
              <th className="py-1 font-medium">Value</th>
              <th className="w-32 py-1 font-medium">Source</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {configEntries.map(([name, value]) => (
              <tr key={name}>
                <td className="py-1.5 font-mono text-xs">{name}</td>
                <td className="break-all py-1.5 font-mono text-xs text-slate-700">{value}</td>
                <td className="py-1.5 text-xs text-slate-500">{ownKeys.has(name) ? "instance" : "profile"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

function Section({
  title,
  wide = false,
  children,
}: {
  title: string;
  wide?: boolean;
  children: React.ReactNode;
}) {
  return (
    <section className={`rounded-md border border-slate-200 bg-white ${wide ? "xl:col-span-2" : ""}`}>
      <h2 className="border-b border-slate-200 px-4 py-2.5 font-semibold">{title}</h2>
      <div className="p-4">{children}</div>
    </section>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt className="text-slate-500">{label}</dt>
      <dd className="text-slate-900">{children}</dd>
    </>
  );
}
