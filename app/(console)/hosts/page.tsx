import type { Metadata } from "next";

import { HostsView, type HostRow } from "@/components/hosts/hosts-view";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { listAddedHosts } from "@/lib/hosts/database-hosts";
import { listHosts, type HostDefinition } from "@/lib/hosts/registry";
import { getFleet } from "@/lib/hosts/watcher";

export const metadata: Metadata = { title: "Hosts" };
export const dynamic = "force-dynamic";

function address(host: HostDefinition): string {
  switch (host.endpoint.kind) {
    case "local":
      return "local unix socket";
    case "unix":
      return host.endpoint.socketPath;
    case "https":
      return host.endpoint.url;
  }
}

export default async function HostsPage() {
  await requirePageUser("host:manage");
  const fleet = getFleet();
  await fleet.ready();
  const added = new Map((await listAddedHosts(getDb())).map((host) => [host.id, host]));
  const statuses = new Map(fleet.hosts().map((status) => [status.id, status]));

  // Only names, addresses and fingerprints reach the browser, never keys.
  const rows: HostRow[] = listHosts().map((host) => {
    const status = statuses.get(host.id);
    const row = added.get(host.id);
    return {
      id: host.id,
      name: host.name,
      address: address(host),
      source: host.source === "database" ? "console" : "hosts file",
      state: status?.state ?? "connecting",
      error: status?.error ?? null,
      serverVersion: status?.serverVersion ?? null,
      fingerprint: row?.serverFingerprint ?? null,
      addedBy: row?.addedBy ?? null,
    };
  });

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Hosts</h1>
        <p className="text-slate-500">
          LXD servers the console manages: those of the hosts file, and those an admin added here with a trust token.
        </p>
      </div>
      <HostsView hosts={rows} />
    </div>
  );
}
