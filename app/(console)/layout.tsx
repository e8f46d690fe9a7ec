import { requireLayoutUser } from "@/lib/auth/session";
import { AppHeader } from "@/components/app-header";
import { CurrentUserProvider } from "@/components/current-user";
import { FleetEvents } from "@/components/fleet-events";
import { Providers } from "@/components/providers";

export const dynamic = "force-dynamic";

export default async function ConsoleLayout({
  children,
}: {
  children: React.ReactNode;
}) {
  const user = await requireLayoutUser();

  return (
    <Providers>
      <CurrentUserProvider user={user}>
        <FleetEvents>
          <div className="flex min-h-screen flex-col">
            <AppHeader user={user} />
            <main className="mx-auto w-full max-w-[1600px] flex-1 px-6 py-6">
              {children}
            </main>
          </div>
        </FleetEvents>
      </CurrentUserProvider>
    </Providers>
  );
}
