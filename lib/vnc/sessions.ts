import { EventEmitter } from "node:events";

import type { InstanceKey } from "@/lib/instances/types";
import { ConsoleError } from "@/lib/errors";

import {
  vncSessionKey,
  type VncController,
  type VncSessionState,
  type VncViewMode,
} from "./types";

/** The part of a bridge the registry drives. */
export interface ControllableView {
  setViewOnly(viewOnly: boolean): void;
  close(): void;
  /** Settles when the view has ended. */
  ended: Promise<unknown>;
}

export interface ViewRegistration {
  key: InstanceKey;
  viewId: string;
  userId: string;
  userName: string;
  mode: VncViewMode;
  bridge: ControllableView;
}

interface OpenView extends ViewRegistration {
  openedAt: Date;
}

interface Session {
  key: InstanceKey;
  views: Map<string, OpenView>;
  controller: VncController | null;
}

/** Result of a control change, with the replaced controller for the audit row. */
export interface ControlChange {
  /** The controller before the change, or null. */
  previous: VncController | null;
  state: VncSessionState;
}

type Listener = (state: VncSessionState) => void;

/**
 * Open VNC views per sandbox and the one view, if any, whose input reaches
 * the sandbox. Every view starts view-only. Taking control switches the
 * previous controller's bridge back to view-only before the new one gets
 * input, so two views cannot control one display at once. Listeners hear
 * every change with the sandbox's new state.
 *
 * The registry does not check permissions or write audit rows. Its callers
 * in views.ts do both.
 */
export class VncSessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every SSE stream subscribes, so many listeners are normal.
    this.emitter.setMaxListeners(0);
  }

  /** Adds a view. A view id in use for the same sandbox is refused. */
  add(view: ViewRegistration): VncSessionState {
    const id = vncSessionKey(view.key);
    let session = this.sessions.get(id);
    if (!session) {
      session = { key: { ...view.key }, views: new Map(), controller: null };
      this.sessions.set(id, session);
    }
    if (session.views.has(view.viewId)) {
      throw new ConsoleError(
        "conflict",
        `A view with the id ${view.viewId} is already open on ${view.key.name}. ` +
          "Reload the page to get a new view id.",
      );
    }
    session.views.set(view.viewId, { ...view, openedAt: new Date() });
    return this.emit(session);
  }

  /**
   * Removes a view. Returns the control it held, if any, so the caller can
   * record the release; null when it was view-only or unknown.
   */
  remove(key: InstanceKey, viewId: string): VncController | null {
    const id = vncSessionKey(key);
    const session = this.sessions.get(id);
    if (!session?.views.delete(viewId)) return null;

    let released: VncController | null = null;
    if (session.controller?.viewId === viewId) {
      released = session.controller;
      session.controller = null;
    }
    this.emit(session);
    if (session.views.size === 0) this.sessions.delete(id);
    return released;
  }

  /**
   * Gives control to `viewId`, which must be a full view of `userId`.
   * Throws ConsoleError "not_found" when the view is not open and
   * "forbidden" when it belongs to someone else.
   */
  take(key: InstanceKey, viewId: string, userId: string): ControlChange {
    const { session, view } = this.ownView(key, viewId, userId);
    if (view.mode !== "full") {
      throw new ConsoleError(
        "invalid_input",
        "Control can only be taken from a full view, not from a tile on the " +
          "sessions wall. Open the sandbox's page and take control there.",
      );
    }

    const previous = session.controller;
    if (previous?.viewId === viewId) {
      return { previous, state: toState(session) };
    }
    if (previous) session.views.get(previous.viewId)?.bridge.setViewOnly(true);
    view.bridge.setViewOnly(false);
    session.controller = {
      userId: view.userId,
      userName: view.userName,
      viewId,
      since: new Date().toISOString(),
    };
    return { previous, state: this.emit(session) };
  }

  /**
   * Makes `viewId` view-only again. Returns the control it held, or null
   * when it did not have control.
   */
  release(key: InstanceKey, viewId: string, userId: string): VncController | null {
    const { session, view } = this.ownView(key, viewId, userId);
    const controller = session.controller;
    if (controller?.viewId !== viewId) return null;

    view.bridge.setViewOnly(true);
    session.controller = null;
    this.emit(session);
    return controller;
  }

  /** Returns the sandbox's viewers and controller, empty when no view is open. */
  state(key: InstanceKey): VncSessionState {
    const session = this.sessions.get(vncSessionKey(key));
    return session ? toState(session) : { ...key, viewers: [], controller: null };
  }

  /** Lists every sandbox with at least one open view. */
  list(): VncSessionState[] {
    return [...this.sessions.values()].map(toState);
  }

  /**
   * Closes every open view and waits until they have ended, or until
   * `timeoutMs` has passed.
   */
  async closeAll(timeoutMs: number): Promise<void> {
    const views = [...this.sessions.values()].flatMap((session) => [
      ...session.views.values(),
    ]);
    for (const view of views) view.bridge.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(views.map((view) => view.bridge.ended)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Closes every view of `userId`, for example when an admin disables the
   * account, and returns how many were closed. Each view writes its own
   * close and release audit rows when it ends (see openView in views.ts).
   */
  closeUserViews(userId: string): number {
    const views = [...this.sessions.values()].flatMap((session) =>
      [...session.views.values()].filter((view) => view.userId === userId),
    );
    for (const view of views) view.bridge.close();
    return views.length;
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.emitter.on("change", listener);
    return () => this.emitter.off("change", listener);
  }

  private ownView(
    key: InstanceKey,
    viewId: string,
    userId: string,
  ): { session: Session; view: OpenView } {
    const session = this.sessions.get(vncSessionKey(key));
    const view = session?.views.get(viewId);
    if (!session || !view) {
      throw new ConsoleError(
        "not_found",
        `No open view ${viewId} on ${key.name} (host ${key.host}, project ` +
          `${key.project}). The view may have closed; reconnect and try again.`,
      );
    }
    if (view.userId !== userId) {
      throw new ConsoleError(
        "forbidden",
        `The view ${viewId} belongs to another user; control goes to your own view only.`,
      );
    }
    return { session, view };
  }

  private emit(session: Session): VncSessionState {
    const state = toState(session);
    this.emitter.emit("change", state);
    return state;
  }
}

function toState(session: Session): VncSessionState {
  return {
    ...session.key,
    viewers: [...session.views.values()].map((view) => ({
      viewId: view.viewId,
      userId: view.userId,
      userName: view.userName,
      mode: view.mode,
      openedAt: view.openedAt.toISOString(),
    })),
    controller: session.controller ? { ...session.controller } : null,
  };
}

const globalSessions = globalThis as typeof globalThis & {
  [key: symbol]: VncSessionRegistry | undefined;
};
const registryKey = Symbol.for("sandbox-console.vnc-sessions");

/**
 * Returns the process's registry. The custom server and Next's route bundles load
 * this module separately, so the registry lives on globalThis.
 */
export function getVncSessions(): VncSessionRegistry {
  let registry = globalSessions[registryKey];
  if (!registry) {
    registry = new VncSessionRegistry();
    globalSessions[registryKey] = registry;
  }
  return registry;
}
