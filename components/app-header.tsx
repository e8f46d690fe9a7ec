"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { userCan, type ConsoleUser, type Permission } from "@/lib/auth/permissions";
import { SignOutButton } from "@/components/sign-out-button";
import { useStreamState } from "@/components/fleet-events";

// A link with a permission shows only to users who have it.
const links: { href: string; label: string; permission?: Permission }[] = [
  { href: "/instances", label: "Instances" },
  { href: "/sessions", label: "Sessions", permission: "session:view" },
  { href: "/audit", label: "Audit log", permission: "audit:read" },
  { href: "/operations", label: "Operations" },
  { href: "/hosts", label: "Hosts", permission: "host:manage" },
  { href: "/admin/users", label: "Accounts", permission: "user:manage" },
];

const streamLabels = {
  connecting: { text: "Connecting", dot: "bg-amber-400" },
  live: { text: "Live", dot: "bg-emerald-500" },
  reconnecting: { text: "Reconnecting", dot: "bg-red-500" },
} as const;

export function AppHeader({ user }: { user: ConsoleUser }) {
  const pathname = usePathname();
  const stream = streamLabels[useStreamState()];

  return (
    <header className="border-b border-slate-800 bg-slate-900 text-slate-100">
      <div className="mx-auto flex h-14 max-w-[1600px] items-center gap-8 px-6">
        <Link href="/instances" className="flex items-center gap-2 font-semibold tracking-tight">
          <span className="grid size-7 place-items-center rounded bg-sky-500 text-xs font-bold text-white">
            SC
          </span>
          Sandbox Console
        </Link>
        <nav aria-label="Main" className="flex gap-1">
          {links.filter((link) => !link.permission || userCan(user, link.permission)).map((link) => {
            const active = pathname.startsWith(link.href);
            return (
              <Link
                key={link.href}
                href={link.href}
                aria-current={active ? "page" : undefined}
                className={`rounded px-3 py-1.5 ${
                  active ? "bg-slate-700 text-white" : "text-slate-300 hover:bg-slate-800 hover:text-white"
                }`}
              >
                {link.label}
              </Link>
            );
          })}
        </nav>
        <div className="ml-auto flex items-center gap-5 text-slate-300">
          <span className="flex items-center gap-2 text-xs" title="Live updates from the LXD hosts">
            <span className={`size-2 rounded-full ${stream.dot}`} aria-hidden />
            <span data-testid="stream-state">{stream.text}</span>
          </span>
          <span className="text-xs">
            <Link
              href="/account"
              title="Your account and password"
              className="text-slate-100 hover:underline"
            >
              {user.email}
            </Link>
            <span className="ml-2 rounded bg-slate-700 px-1.5 py-0.5 uppercase tracking-wide text-[10px]">
              {user.role}
            </span>
          </span>
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
