import type { Metadata } from "next";

import { HostsView } from "@/components/hosts/hosts-view";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { listHostRows } from "@/lib/hosts/host-rows";
import { getFleet } from "@/lib/hosts/watcher";

export const metadata: Metadata = { title: "Hosts" };
export const dynamic = "force-dynamic";

export default async function HostsPage() {
  await requirePageUser("host:manage");
  const fleet = getFleet();
  await fleet.ready();
  const rows = await listHostRows(getDb(), fleet);

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
