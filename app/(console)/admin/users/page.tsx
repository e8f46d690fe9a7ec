import type { Metadata } from "next";

import { AccountsView } from "@/components/accounts/accounts-view";
import { listAccounts } from "@/lib/auth/accounts";
import { readOidcConfig } from "@/lib/auth/oidc-config";
import { requirePageUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Accounts" };
export const dynamic = "force-dynamic";

export default async function AccountsPage() {
  const user = await requirePageUser("user:manage");
  const accounts = await listAccounts(getDb());
  const oidc = readOidcConfig();

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Accounts</h1>
        <p className="text-slate-500">
          Who may sign in to the console, with which role. Every change here is recorded in the audit log.
          {oidc && " Accounts that sign in with single sign-on get their role from the identity provider's groups at each sign-in."}
        </p>
      </div>
      <AccountsView accounts={accounts} currentUserId={user.id} />
    </div>
  );
}
