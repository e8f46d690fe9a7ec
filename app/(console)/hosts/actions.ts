"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";

import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";
import { ensureDatabaseHosts } from "@/lib/hosts/database-hosts";
import {
  addHost,
  addHostInput,
  removeHost,
  testHost,
  type HostCheck,
} from "@/lib/hosts/enrol";
import { parseInput } from "@/lib/validation";

export type HostResult<T> = { ok: true; value: T } | { ok: false; error: string };

const hostIdInput = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "expected a host id"),
});

async function hostContext() {
  const user = await requireUser("host:manage");
  await ensureDatabaseHosts();
  return {
    actor: { id: user.id, email: user.email },
    sourceAddress: await getSourceAddress(),
  };
}

/** Adds an LXD server by address and trust token, audited. */
export async function addHostAction(input: unknown): Promise<HostResult<HostCheck>> {
  try {
    const context = await hostContext();
    const request = parseInput(addHostInput, input);
    const check = await addHost(getDb(), context, request);
    revalidatePath("/hosts");
    return { ok: true, value: check };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Reads GET /1.0 of a host and its cluster members. */
export async function testHostAction(input: unknown): Promise<HostResult<HostCheck>> {
  try {
    await hostContext();
    const { id } = parseInput(hostIdInput, input);
    return { ok: true, value: await testHost(id) };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Removes a host added in the console, audited. */
export async function removeHostAction(input: unknown): Promise<HostResult<null>> {
  try {
    const context = await hostContext();
    const { id } = parseInput(hostIdInput, input);
    await removeHost(getDb(), context, id);
    revalidatePath("/hosts");
    return { ok: true, value: null };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}
