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

/** Control whose view dropped, kept for the view to reconnect. */
interface SuspendedControl {
  timer: NodeJS.Timeout;
  onExpired: (controller: VncController) => void;
}

interface Session {
  key: InstanceKey;
  views: Map<string, OpenView>;
  controller: VncController | null;
  /** Set while `controller`'s view is gone and may still come back. */
  suspended: SuspendedControl | null;
}

/** How long control waits for a dropped controller to reconnect. */
export const CONTROL_RECONNECT_GRACE_MS = 15_000;

/** Result of a control change, with the replaced controller for the audit row. */
export interface ControlChange {
  /** The controller before the change, or null. */
  previous: VncController | null;
  state: VncSessionState;
}

/** Result of adding a view. */
export interface ViewAddition {
  state: VncSessionState;
  /**
   * The control that the view took back: its own view id had control and
   * was either dropped within the grace period or is still open on a dead
   * connection, which the new view replaces. Null otherwise.
   */
  resumed: VncController | null;
}

/** Result of removing a view. */
export interface ViewRemoval {
  /** Control the view held and gave up, or null. */
  released: VncController | null;
  /** Control the view held that now waits for it to reconnect, or null. */
  suspended: VncController | null;
}

export interface RemoveOptions {
  /**
   * The bridge of the view to remove. A view id reopened since then has a
   * new bridge, and the removal of the old one then leaves it in place.
   */
  bridge?: ControllableView;
  /**
   * Keeps the view's control for `controlGraceMs` instead of releasing it,
   * for a connection that dropped rather than closed on purpose.
   */
  keepControl?: boolean;
  /** Called when kept control expires without the view reconnecting. */
  onControlExpired?: (controller: VncController) => void;
}

type Listener = (state: VncSessionState) => void;

/**
 * Open VNC views per sandbox and the one view, if any, whose input reaches
 * the sandbox. Every view starts view-only. Taking control switches the
 * previous controller's bridge back to view-only before the new one gets
 * input, so two views cannot control one display at once. Listeners hear
 * every change with the sandbox's new state.
 *
 * A controller whose connection drops keeps control for `controlGraceMs`:
 * other viewers still see them as the controller, marked as disconnected,
 * and a view with the same id and user that opens within that time gets
 * input again. After it, control is released.
 *
 * The registry does not check permissions or write audit rows. Its callers
 * in views.ts do both.
 */
export class VncSessionRegistry {
  /** How long dropped control waits for its view to reconnect, in ms. */
  controlGraceMs = CONTROL_RECONNECT_GRACE_MS;
  private readonly sessions = new Map<string, Session>();
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every SSE stream subscribes, so many listeners are normal.
    this.emitter.setMaxListeners(0);
  }

  /**
   * Adds a view. A view id that another user has open is refused. The same
   * user's view id replaces the open view, whose bridge is closed: that is
   * a reconnect whose old connection the server has not seen drop yet. A
   * view id that held control gets it back.
   */
  add(view: ViewRegistration): ViewAddition {
    const id = vncSessionKey(view.key);
    let session = this.sessions.get(id);
    if (!session) {
      session = {
        key: { ...view.key },
        views: new Map(),
        controller: null,
        suspended: null,
      };
      this.sessions.set(id, session);
    }

    const existing = session.views.get(view.viewId);
    if (existing && existing.userId !== view.userId) {
      throw new ConsoleError(
        "conflict",
        `A view with the id ${view.viewId} is already open on ${view.key.name}. ` +
          "Reload the page to get a new view id.",
      );
    }
    session.views.set(view.viewId, { ...view, openedAt: new Date() });
    existing?.bridge.close();

    let resumed: VncController | null = null;
    const controller = session.controller;
    if (controller?.viewId === view.viewId && controller.userId === view.userId) {
      this.clearSuspension(session);
      const connected = { ...controller };
      delete connected.disconnectedAt;
      session.controller = connected;
      view.bridge.setViewOnly(false);
      resumed = connected;
    }
    return { state: this.emit(session), resumed };
  }

  /**
   * Removes a view. Returns the control it held, if any: released, or kept
   * for a reconnect when `options.keepControl` is set.
   */
  remove(key: InstanceKey, viewId: string, options: RemoveOptions = {}): ViewRemoval {
    const removal: ViewRemoval = { released: null, suspended: null };
    const id = vncSessionKey(key);
    const session = this.sessions.get(id);
    const view = session?.views.get(viewId);
    if (!session || !view) return removal;
    if (options.bridge && view.bridge !== options.bridge) return removal;
    session.views.delete(viewId);

    const controller = session.controller;
    if (controller?.viewId === viewId) {
      if (options.keepControl && this.controlGraceMs > 0) {
        removal.suspended = this.suspend(session, controller, options.onControlExpired);
      } else {
        removal.released = controller;
        session.controller = null;
      }
    }
    this.emit(session);
    this.forgetIfIdle(session);
    return removal;
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
    this.clearSuspension(session);
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
   * when it did not have control. Control that waits for its dropped view
   * to reconnect can be released by its user too.
   */
  release(key: InstanceKey, viewId: string, userId: string): VncController | null {
    const waiting = this.sessions.get(vncSessionKey(key));
    const held = waiting?.controller;
    if (waiting?.suspended && held?.viewId === viewId && held.userId === userId) {
      this.clearSuspension(waiting);
      waiting.controller = null;
      this.emit(waiting);
      this.forgetIfIdle(waiting);
      return held;
    }

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
   * `timeoutMs` has passed. Control that waits for a reconnect expires at
   * once.
   */
  async closeAll(timeoutMs: number): Promise<void> {
    for (const session of [...this.sessions.values()]) {
      if (session.suspended) this.expire(session);
    }
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

  private suspend(
    session: Session,
    controller: VncController,
    onExpired: (controller: VncController) => void = () => {},
  ): VncController {
    this.clearSuspension(session);
    const waiting = { ...controller, disconnectedAt: new Date().toISOString() };
    session.controller = waiting;
    const timer = setTimeout(() => this.expire(session), this.controlGraceMs);
    // A pending expiry must not keep a stopping process alive.
    timer.unref();
    session.suspended = { timer, onExpired };
    return waiting;
  }

  /** Releases control that waited for a reconnect and tells its owner. */
  private expire(session: Session): void {
    const suspended = session.suspended;
    const controller = session.controller;
    if (!suspended || !controller) return;

    this.clearSuspension(session);
    session.controller = null;
    this.emit(session);
    this.forgetIfIdle(session);
    suspended.onExpired(controller);
  }

  private clearSuspension(session: Session): void {
    if (session.suspended) clearTimeout(session.suspended.timer);
    session.suspended = null;
  }

  private forgetIfIdle(session: Session): void {
    if (session.views.size > 0 || session.controller !== null) return;
    const id = vncSessionKey(session.key);
    if (this.sessions.get(id) === session) this.sessions.delete(id);
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
