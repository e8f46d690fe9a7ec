"use client";

import { createContext, useContext, useMemo } from "react";
import { userCan, type ConsoleUser } from "@/lib/auth/permissions";

/** The signed-in user as client components see them. */
export interface CurrentUser extends ConsoleUser {
  /** Whether they may watch sandbox screens. */
  canViewSessions: boolean;
  /** Whether they may take control of a sandbox's screen, by role or by grant. */
  canControlSessions: boolean;
}

const CurrentUserContext = createContext<CurrentUser | null>(null);

/**
 * Passes the user that the console layout loaded down to client components.
 * The flags only shape the interface: every action checks again on the server.
 */
export function CurrentUserProvider({
  user,
  children,
}: {
  user: ConsoleUser;
  children: React.ReactNode;
}) {
  const value = useMemo(
    () => ({
      ...user,
      canViewSessions: userCan(user, "session:view"),
      canControlSessions: userCan(user, "session:control"),
    }),
    [user],
  );
  return <CurrentUserContext value={value}>{children}</CurrentUserContext>;
}

/** Returns the signed-in user. Throws outside the console layout. */
export function useCurrentUser(): CurrentUser {
  const user = useContext(CurrentUserContext);
  if (!user) {
    throw new Error(
      "useCurrentUser was called outside CurrentUserProvider; render the component inside the console layout",
    );
  }
  return user;
}
