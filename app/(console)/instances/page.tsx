import type { Metadata } from "next";
import { InstancesView } from "@/components/instances/instances-view";
import { getFleet } from "@/lib/hosts/watcher";
import { requirePageUser } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Instances" };

export default async function InstancesPage() {
  // Layouts are not re-run on client navigation, so each page checks too.
  await requirePageUser("instance:read");
  const fleet = getFleet();
  await fleet.ready();

  return (
    <InstancesView
      initial={{ hosts: fleet.hosts(), instances: fleet.instances() }}
    />
  );
}
