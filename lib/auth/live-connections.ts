import { EventEmitter } from "node:events";

import { log } from "@/lib/log";
import { getVncSessions } from "@/lib/vnc/sessions";

// Deleting a user's session rows stops every later request, but a VNC view
// or an event stream opened before keeps running until it is closed. This
// module closes them in this process.
// NOTE: with several console processes on one database, only the process
// that made the change closes its connections. The others keep theirs until
// the browser reconnects and its session check fails.

type Listener = (userId: string) => void;

const globalRevocations = globalThis as typeof globalThis & {
  [key: symbol]: EventEmitter | undefined;
};
const emitterKey = Symbol.for("sandbox-console.sessions-revoked");

// Next's route bundles and the custom server load this module separately,
// so the emitter lives on globalThis like the VNC registry.
function revocations(): EventEmitter {
  let emitter = globalRevocations[emitterKey];
  if (!emitter) {
    emitter = new EventEmitter();
    // One listener per open event stream.
    emitter.setMaxListeners(0);
    globalRevocations[emitterKey] = emitter;
  }
  return emitter;
}

/**
 * Closes the open VNC views and event streams of `userId`. Call it after
 * the user's session rows are deleted, so that a reconnect is rejected.
 */
export function closeLiveConnections(userId: string): void {
  const views = getVncSessions().closeUserViews(userId);

  revocations().emit("revoked", userId);
  log.info({ userId, views }, "closed the VNC views and event streams of a user");
}

/** Calls `listener` with the user id whenever a user's sessions are revoked. */
export function onSessionsRevoked(listener: Listener): () => void {
  revocations().on("revoked", listener);
  return () => revocations().off("revoked", listener);
}
