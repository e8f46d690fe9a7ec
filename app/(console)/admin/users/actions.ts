"use server";

import { revalidatePath } from "next/cache";

import {
  changeRole,
  consoleActor,
  createAccount,
  disableAccount,
  enableAccount,
  resetPassword,
  setSessionControl,
  signOutEverywhere,
  type AccountActor,
  type AccountSummary,
  type OneTimePassword,
} from "@/lib/auth/accounts";
import { getSourceAddress, requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { userMessage } from "@/lib/errors";

export type AccountResult<T> = { ok: true; value: T } | { ok: false; error: string };

const ACCOUNTS_PATH = "/admin/users";

/** Checks the permission, then runs `change` for the signed-in admin. */
async function runAccountChange<T>(
  change: (actor: AccountActor) => Promise<T>,
): Promise<AccountResult<T>> {
  try {
    const user = await requireUser("user:manage");
    const value = await change(consoleActor(user, await getSourceAddress()));
    revalidatePath(ACCOUNTS_PATH);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: userMessage(error) };
  }
}

/** Creates an account with a one-time password, shown once. */
export async function createAccountAction(input: unknown): Promise<AccountResult<OneTimePassword>> {
  return runAccountChange((actor) => createAccount(getDb(), actor, input));
}

/** Changes an account's role. */
export async function changeRoleAction(input: unknown): Promise<AccountResult<AccountSummary>> {
  return runAccountChange((actor) => changeRole(getDb(), actor, input));
}

/** Grants or revokes a support user's session control. */
export async function setSessionControlAction(input: unknown): Promise<AccountResult<AccountSummary>> {
  return runAccountChange((actor) => setSessionControl(getDb(), actor, input));
}

/** Disables an account and cuts its sessions. */
export async function disableAccountAction(input: unknown): Promise<AccountResult<AccountSummary>> {
  return runAccountChange((actor) => disableAccount(getDb(), actor, input));
}

/** Enables a disabled account. */
export async function enableAccountAction(input: unknown): Promise<AccountResult<AccountSummary>> {
  return runAccountChange((actor) => enableAccount(getDb(), actor, input));
}

/** Sets a new one-time password, shown once, and signs the user out. */
export async function resetPasswordAction(input: unknown): Promise<AccountResult<OneTimePassword>> {
  return runAccountChange((actor) => resetPassword(getDb(), actor, input));
}

/** Signs a user out of every browser. */
export async function signOutEverywhereAction(input: unknown): Promise<AccountResult<AccountSummary>> {
  return runAccountChange((actor) => signOutEverywhere(getDb(), actor, input));
}
