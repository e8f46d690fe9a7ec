import { onSessionsRevoked } from "@/lib/auth/live-connections";
import { userCan, type ConsoleUser } from "@/lib/auth/permissions";
import { requireUser } from "@/lib/auth/session";
import { getFleet, type Fleet, type FleetEvent } from "@/lib/hosts/watcher";
import { errorResponse } from "@/lib/http";
import { getVncSessions } from "@/lib/vnc/sessions";
import type { VncSessionState } from "@/lib/vnc/types";

export const dynamic = "force-dynamic";

const heartbeatMs = 15_000;

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Server-Sent Events of instance and host changes on every host, and of VNC
 * viewers and controllers for users who may watch sessions. The first
 * frames are full snapshots, so a browser that reconnects after a gap starts
 * from the current state instead of replaying what it missed.
 */
export async function GET(request: Request): Promise<Response> {
  let fleet: Fleet;
  let user: ConsoleUser;
  try {
    user = await requireUser("instance:read");
    fleet = getFleet();
    await fleet.ready();
  } catch (error) {
    return errorResponse(error);
  }

  const encoder = new TextEncoder();
  let cleanup = () => {};

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          cleanup();
        }
      };

      send("retry: 2000\n\n");
      send(
        frame("snapshot", { hosts: fleet.hosts(), instances: fleet.instances() }),
      );

      const unsubscribeFleet = fleet.subscribe((event: FleetEvent) =>
        send(frame(event.type, event)),
      );
      // Who watches and controls each browser sandbox, for session viewers.
      let unsubscribeSessions = () => {};
      if (userCan(user, "session:view")) {
        const sessions = getVncSessions();
        send(frame("vnc-sessions", { sessions: sessions.list() }));
        unsubscribeSessions = sessions.subscribe((session: VncSessionState) =>
          send(frame("vnc-session", { type: "vnc-session", session })),
        );
      }
      // A disabled or signed-out user's stream ends at once; the browser's
      // reconnect then fails its session check.
      const unsubscribeRevoked = onSessionsRevoked((userId) => {
        if (userId !== user.id) return;
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed.
        }
      });
      const unsubscribe = () => {
        unsubscribeFleet();
        unsubscribeSessions();
        unsubscribeRevoked();
      };
      const heartbeat = setInterval(() => send(": heartbeat\n\n"), heartbeatMs);

      cleanup = () => {
        unsubscribe();
        clearInterval(heartbeat);
      };
      request.signal.addEventListener("abort", () => {
        cleanup();
        try {
          controller.close();
        } catch {
          // Already closed by the runtime.
        }
      });
    },
    cancel() {
      cleanup();
    },
  });

  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform keeps the compression layer from buffering the stream.
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}
