"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState } from "react";
import { StatusBadge } from "@/components/status-badge";
import type { FleetSnapshot } from "@/components/fleet-events";
import type { InstanceSummary, InstanceUsage } from "@/lib/instances/types";
import { formatAge, formatBytes, formatCpuTime, formatTime } from "@/lib/format";
import { queryKeys } from "@/lib/query-keys";
import { instancePath, usageKey } from "@/components/instances/paths";
import { BulkBar } from "@/components/instances/bulk-bar";

type SortColumn = "name" | "host" | "status" | "type" | "created" | "memory" | "snapshots";

const usageRefreshMs = 10_000;

async function fetchFleet(): Promise<FleetSnapshot> {
  const response = await fetch("/api/instances");
  if (!response.ok) throw new Error(`Loading instances failed (HTTP ${response.status})`);
  return (await response.json()) as FleetSnapshot;
}

async function fetchUsage(keys: string[]): Promise<Record<string, InstanceUsage | null>> {
  const response = await fetch("/api/instances/usage", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ keys }),
  });
  if (!response.ok) throw new Error(`Loading usage failed (HTTP ${response.status})`);
  const body = (await response.json()) as { usage: Record<string, InstanceUsage | null> };
  return body.usage;
}

function compare(a: InstanceSummary, b: InstanceSummary, column: SortColumn): number {
  switch (column) {
    case "name":
      return a.name.localeCompare(b.name);
    case "host":
      return a.host.localeCompare(b.host) || a.name.localeCompare(b.name);
    case "status":
      return a.status.localeCompare(b.status);
    case "type":
      return a.type.localeCompare(b.type);
    case "created":
      return a.createdAt.localeCompare(b.createdAt);
    case "memory":
      return (a.usage?.memoryBytes ?? -1) - (b.usage?.memoryBytes ?? -1);
    case "snapshots":
      return a.snapshotCount - b.snapshotCount;
  }
}

export function InstancesView({ initial }: { initial: FleetSnapshot }) {
  const { data } = useQuery({
    queryKey: queryKeys.fleet(),
    queryFn: fetchFleet,
    initialData: initial,
    staleTime: Infinity,
  });

  const [text, setText] = useState("");
  const [status, setStatus] = useState("all");
  const [type, setType] = useState("all");
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [sort, setSort] = useState<{ column: SortColumn; descending: boolean }>({
    column: "name",
    descending: false,
  });

  const visible = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const rows = data.instances.filter((instance) => {
      if (status !== "all" && instance.status !== status) return false;
      if (type !== "all" && instance.type !== type) return false;
      if (!needle) return true;
      return [instance.name, instance.host, instance.project, instance.imageDescription ?? "", instance.description]
        .some((field) => field.toLowerCase().includes(needle));
    });
    rows.sort((a, b) => compare(a, b, sort.column) * (sort.descending ? -1 : 1));
    return rows;
  }, [data.instances, text, status, type, sort]);

  // Usage is refreshed for the running instances on screen only.
  const runningKeys = visible.filter((i) => i.status === "Running").map(usageKey);
  const usage = useQuery({
    queryKey: queryKeys.instanceUsage(runningKeys),
    queryFn: () => fetchUsage(runningKeys),
    enabled: runningKeys.length > 0,
    refetchInterval: usageRefreshMs,
    placeholderData: (previous) => previous,
  });

  const unreachable = data.hosts.filter((host) => host.state === "unreachable");
  const statuses = [...new Set(data.instances.map((i) => i.status))].sort();

  // Only instances still listed stay selected, so a deleted one drops out.
  const selectedInstances = data.instances.filter((instance) => selected.has(usageKey(instance)));
  const allVisibleSelected = visible.length > 0 && visible.every((i) => selected.has(usageKey(i)));
  const toggleSelected = (key: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const toggleSort = (column: SortColumn) =>
    setSort((current) => ({
      column,
      descending: current.column === column ? !current.descending : false,
    }));

  return (
    <div className="space-y-4">
      <div className="flex items-end justify-between">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Instances</h1>
          <p className="text-slate-500">
            {data.instances.length} instances on {data.hosts.length}{" "}
            {data.hosts.length === 1 ? "host" : "hosts"}
          </p>
        </div>
        <HostPills hosts={data.hosts} />
      </div>

      {unreachable.map((host) => (
        <div
          key={host.id}
          role="alert"
          data-testid={`host-unreachable-${host.id}`}
          className="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-amber-900"
        >
          <strong>{host.name}</strong> ({host.id}) is unreachable since {formatTime(host.since)} UTC:{" "}
          {(host.error ?? "no answer").replace(/\.$/, "")}. Its instances are not listed; the
          console keeps retrying.
        </div>
      ))}

      <div className="flex flex-wrap items-center gap-3 rounded-md border border-slate-200 bg-white p-3">
        <input
          type="search"
          aria-label="Filter instances"
          placeholder="Filter by name, host, project or image"
          value={text}
          onChange={(event) => setText(event.target.value)}
          className="w-80 rounded border border-slate-300 px-3 py-1.5 focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500"
        />
        <label className="flex items-center gap-2 text-slate-600">
          Status
          <select
            value={status}
            onChange={(event) => setStatus(event.target.value)}
            className="rounded border border-slate-300 bg-white px-2 py-1.5"
          >
            <option value="all">All</option>
            {statuses.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-slate-600">
          Type
          <select
            value={type}
            onChange={(event) => setType(event.target.value)}
            className="rounded border border-slate-300 bg-white px-2 py-1.5"
          >
            <option value="all">All</option>
            <option value="container">Container</option>
            <option value="virtual-machine">Virtual machine</option>
          </select>
        </label>
        <span className="ml-auto text-slate-500">{visible.length} shown</span>
      </div>

      <BulkBar
        selected={selectedInstances.map(({ host, project, name }) => ({ host, project, name }))}
        onClear={() => setSelected(new Set())}
      />

      <div className="overflow-x-auto rounded-md border border-slate-200 bg-white">
        <table className="w-full text-left">
          <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="w-8 px-3 py-2">
                <input
                  type="checkbox"
                  aria-label="Select all shown instances"
                  checked={allVisibleSelected}
                  onChange={() =>
                    setSelected(allVisibleSelected ? new Set() : new Set(visible.map(usageKey)))
                  }
                />
              </th>
              <SortHeader column="name" label="Name" sort={sort} onSort={toggleSort} />
              <SortHeader column="status" label="Status" sort={sort} onSort={toggleSort} />
              <SortHeader column="host" label="Host" sort={sort} onSort={toggleSort} />
              <th className="px-3 py-2 font-medium">Project</th>
              <SortHeader column="type" label="Type" sort={sort} onSort={toggleSort} />
              <th className="px-3 py-2 font-medium">Image</th>
              <th className="px-3 py-2 text-right font-medium">CPU time</th>
              <SortHeader column="memory" label="Memory" sort={sort} onSort={toggleSort} align="right" />
              <th className="px-3 py-2 text-right font-medium">Root disk</th>
              <SortHeader column="snapshots" label="Snapshots" sort={sort} onSort={toggleSort} align="right" />
              <SortHeader column="created" label="Created" sort={sort} onSort={toggleSort} />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {visible.map((instance) => {
              const live = usage.data?.[usageKey(instance)] ?? instance.usage;
              return (
                <tr
                  key={usageKey(instance)}
                  data-testid={`instance-row-${instance.host}-${instance.project}-${instance.name}`}
                  className="hover:bg-slate-50"
                >
                  <td className="px-3 py-2">
                    <input
                      type="checkbox"
                      aria-label={`Select ${instance.name}`}
                      checked={selected.has(usageKey(instance))}
                      onChange={() => toggleSelected(usageKey(instance))}
                    />
                  </td>
                  <td className="px-3 py-2 font-medium">
                    <Link href={instancePath(instance)} className="text-sky-700 hover:underline">
                      {instance.name}
                    </Link>
                  </td>
                  <td className="px-3 py-2">
                    <StatusBadge status={instance.status} />
                  </td>
                  <td className="px-3 py-2 text-slate-600">{instance.host}</td>
                  <td className="px-3 py-2 text-slate-600">{instance.project}</td>
                  <td className="px-3 py-2 text-slate-600">
                    {instance.type === "container" ? "Container" : "VM"}
                  </td>
                  <td className="max-w-72 truncate px-3 py-2 text-slate-600" title={instance.imageDescription ?? ""}>
                    {instance.imageDescription ?? "—"}
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums text-slate-600">
                    {instance.status === "Running" ? formatCpuTime(live?.cpuNs) : "—"}
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums text-slate-600">
                    {instance.status === "Running" ? formatBytes(live?.memoryBytes) : "—"}
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums text-slate-600">
                    {formatBytes(live?.rootDiskBytes)}
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums text-slate-600">{instance.snapshotCount}</td>
                  <td className="px-3 py-2 text-slate-600" title={formatTime(instance.createdAt)}>
                    {formatAge(instance.createdAt)}
                  </td>
                </tr>
              );
            })}
            {visible.length === 0 && (
              <tr>
                <td colSpan={12} className="px-3 py-10 text-center text-slate-500">
                  {data.instances.length === 0
                    ? "No instances on the reachable hosts."
                    : "No instance matches the filters."}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function SortHeader({
  column,
  label,
  sort,
  onSort,
  align = "left",
}: {
  column: SortColumn;
  label: string;
  sort: { column: SortColumn; descending: boolean };
  onSort: (column: SortColumn) => void;
  align?: "left" | "right";
}) {
  const active = sort.column === column;
  let ariaSort: "ascending" | "descending" | "none" = "none";
  if (active) ariaSort = sort.descending ? "descending" : "ascending";
  const arrows = { ascending: "▲", descending: "▼", none: "" };

  return (
    <th
      className={`px-3 py-2 font-medium ${align === "right" ? "text-right" : ""}`}
      aria-sort={ariaSort}
    >
      <button type="button" onClick={() => onSort(column)} className="uppercase tracking-wide hover:text-slate-900">
        {label}
        <span aria-hidden className="ml-1 text-slate-400">
          {arrows[ariaSort]}
        </span>
      </button>
    </th>
  );
}

function HostPills({ hosts }: { hosts: FleetSnapshot["hosts"] }) {
  const colours = {
    online: "bg-emerald-500",
    connecting: "bg-amber-400",
    unreachable: "bg-red-500",
  } as const;
  return (
    <ul aria-label="Hosts" className="flex flex-wrap gap-2">
      {hosts.map((host) => (
        <li
          key={host.id}
          data-testid={`host-${host.id}`}
          title={host.error ?? (host.serverVersion ? `LXD ${host.serverVersion}` : host.state)}
          className="flex items-center gap-2 rounded-full border border-slate-200 bg-white px-3 py-1 text-xs text-slate-600"
        >
          <span className={`size-2 rounded-full ${colours[host.state]}`} aria-hidden />
          {host.name}
          <span className="text-slate-400">{host.state}</span>
        </li>
      ))}
    </ul>
  );
}
