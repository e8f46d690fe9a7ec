import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { InstanceView } from "@/components/instances/instance-view";
import { requirePageUser } from "@/lib/auth/session";
import { can } from "@/lib/auth/permissions";
import { ConsoleError, userMessage } from "@/lib/errors";
import { getHost } from "@/lib/hosts/registry";
import { fetchInstanceDetail } from "@/lib/instances/detail";
import { instanceKeySchema } from "@/lib/instances/schemas";
import type { InstanceDetail } from "@/lib/instances/types";
import { LxdError } from "@/lib/lxd";

type Params = { host: string; project: string; name: string };

export async function generateMetadata({
  params,
}: {
  params: Promise<Params>;
}): Promise<Metadata> {
  return { title: decodeURIComponent((await params).name) };
}

export default async function InstancePage({ params }: { params: Promise<Params> }) {
  const user = await requirePageUser("instance:read");
  const parsed = instanceKeySchema.safeParse(await params);
  if (!parsed.success) notFound();
  const key = parsed.data;

  let initial: InstanceDetail | null = null;
  let loadError: string | null = null;
  try {
    getHost(key.host);
    initial = await fetchInstanceDetail(key);
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) notFound();
    if (error instanceof ConsoleError && error.code === "not_found") notFound();
    loadError = userMessage(error);
  }

  return (
    <InstanceView
      instanceKey={key}
      initial={initial}
      loadError={loadError}
      canOperate={can(user.role, "instance:operate")}
    />
  );
}
