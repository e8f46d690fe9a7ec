import type { Metadata } from "next";
import { SessionsWall } from "@/components/sessions/sessions-wall";
import { requirePageUser } from "@/lib/auth/session";
import { getFleet } from "@/lib/hosts/watcher";

export const metadata: Metadata = { title: "Sessions" };

export default async function SessionsPage() {
  await requirePageUser("session:view");
  const fleet = getFleet();
  await fleet.ready();

  return <SessionsWall initial={{ hosts: fleet.hosts(), instances: fleet.instances() }} />;
}
