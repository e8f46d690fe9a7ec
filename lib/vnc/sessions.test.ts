import { describe, expect, it, vi } from "vitest";

import { ConsoleError } from "@/lib/errors";

import { VncSessionRegistry, type ControllableView } from "./sessions";
import type { VncSessionState } from "./types";

const sandbox = { host: "local", project: "default", name: "agent-1" };

/** Records the input switches a registry makes, as a bridge would apply them. */
class RecordingView implements ControllableView {
  viewOnly = true;
  closed = false;
  switches: boolean[] = [];
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => {
    this.resolveEnded = resolve;
  });

  setViewOnly(viewOnly: boolean): void {
    this.viewOnly = viewOnly;
    this.switches.push(viewOnly);
  }

  close(): void {
    this.closed = true;
    this.resolveEnded();
  }
}

function addView(
  registry: VncSessionRegistry,
  viewId: string,
  userId: string,
  mode: "full" | "tile" = "full",
): RecordingView {
  const bridge = new RecordingView();
  registry.add({ key: sandbox, viewId, userId, userName: `User ${userId}`, mode, bridge });
  return bridge;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConsoleError) return error.code;
    throw error;
  }
  throw new Error("expected a ConsoleError");
}

describe("VncSessionRegistry", () => {
  it("lists viewers per sandbox and forgets a sandbox when its last view closes", () => {
    const registry = new VncSessionRegistry();
    addView(registry, "view-a", "u1");
    addView(registry, "view-b", "u2", "tile");

    const [state] = registry.list();
    expect(state?.viewers.map((v) => [v.viewId, v.userId, v.mode])).toEqual([
      ["view-a", "u1", "full"],
      ["view-b", "u2", "tile"],
    ]);

    registry.remove(sandbox, "view-a");
    registry.remove(sandbox, "view-b");
    expect(registry.list()).toEqual([]);
    expect(registry.state(sandbox)).toEqual({ ...sandbox, viewers: [], controller: null });
  });

  it("refuses a second view with the same id", () => {
    const registry = new VncSessionRegistry();
    addView(registry, "view-a", "u1");
    expect(codeOf(() => addView(registry, "view-a", "u2"))).toBe("conflict");
  });

  it("moves control between views", () => {
    const registry = new VncSessionRegistry();
    const first = addView(registry, "view-a", "u1");
    const second = addView(registry, "view-b", "u2");

    const taken = registry.take(sandbox, "view-a", "u1");
    expect(taken.previous).toBeNull();
    expect(first.viewOnly).toBe(false);
    expect(taken.state.controller).toMatchObject({ userId: "u1", viewId: "view-a" });

    const takeover = registry.take(sandbox, "view-b", "u2");
    expect(takeover.previous).toMatchObject({ userId: "u1", viewId: "view-a" });
    expect(first.switches).toEqual([false, true]);
    expect(second.viewOnly).toBe(false);
    expect(registry.state(sandbox).controller?.userName).toBe("User u2");
  });

  it("allows control only from the user's own full view", () => {
    const registry = new VncSessionRegistry();
    const tile = addView(registry, "tile-a", "u1", "tile");
    addView(registry, "view-b", "u2");

    expect(codeOf(() => registry.take(sandbox, "view-b", "u1"))).toBe("forbidden");
    expect(codeOf(() => registry.take(sandbox, "tile-a", "u1"))).toBe("invalid_input");
    expect(codeOf(() => registry.take(sandbox, "missing", "u1"))).toBe("not_found");
    expect(tile.switches).toEqual([]);
    expect(registry.state(sandbox).controller).toBeNull();
  });

  it("releases control on request and when the controlling view closes", () => {
    const registry = new VncSessionRegistry();
    const view = addView(registry, "view-a", "u1");
    addView(registry, "view-b", "u2");

    registry.take(sandbox, "view-a", "u1");
    expect(registry.release(sandbox, "view-a", "u1")?.viewId).toBe("view-a");
    expect(view.viewOnly).toBe(true);
    expect(registry.release(sandbox, "view-a", "u1")).toBeNull();

    registry.take(sandbox, "view-a", "u1");
    expect(registry.remove(sandbox, "view-a").released?.userId).toBe("u1");
    expect(registry.state(sandbox).controller).toBeNull();
    expect(registry.remove(sandbox, "view-b")).toEqual({ released: null, suspended: null });
  });

  it("tells subscribers every change", () => {
    const registry = new VncSessionRegistry();
    const seen: VncSessionState[] = [];
    const unsubscribe = registry.subscribe((state) => seen.push(state));

    addView(registry, "view-a", "u1");
    registry.take(sandbox, "view-a", "u1");
    registry.remove(sandbox, "view-a");
    unsubscribe();
    addView(registry, "view-b", "u2");

    expect(seen.map((state) => [state.viewers.length, state.controller?.viewId ?? null])).toEqual([
      [1, null],
      [1, "view-a"],
      [0, null],
    ]);
  });

  it("keeps dropped control for a reconnect of the same view", () => {
    const registry = new VncSessionRegistry();
    const first = addView(registry, "view-a", "u1");
    addView(registry, "view-b", "u2");
    registry.take(sandbox, "view-a", "u1");
    const expired: string[] = [];

    const removal = registry.remove(sandbox, "view-a", {
      bridge: first,
      keepControl: true,
      onControlExpired: (controller) => expired.push(controller.viewId),
    });
    expect(removal.released).toBeNull();
    expect(removal.suspended?.disconnectedAt).toEqual(expect.any(String));
    // The other viewer still sees who is in control, marked as dropped.
    const waiting = registry.state(sandbox).controller;
    expect(waiting).toMatchObject({ userId: "u1", viewId: "view-a" });
    expect(waiting?.disconnectedAt).toEqual(expect.any(String));

    const again = new RecordingView();
    const added = registry.add({
      key: sandbox,
      viewId: "view-a",
      userId: "u1",
      userName: "User u1",
      mode: "full",
      bridge: again,
    });
    expect(added.resumed).toMatchObject({ userId: "u1", viewId: "view-a" });
    expect(again.viewOnly).toBe(false);
    expect(registry.state(sandbox).controller?.disconnectedAt).toBeUndefined();
    expect(expired).toEqual([]);
  });

  it("releases dropped control after the grace period", () => {
    vi.useFakeTimers();
    try {
      const registry = new VncSessionRegistry();
      registry.controlGraceMs = 15_000;
      const view = addView(registry, "view-a", "u1");
      registry.take(sandbox, "view-a", "u1");
      const expired: string[] = [];
      const seen: (string | null)[] = [];
      registry.subscribe((state) => seen.push(state.controller?.viewId ?? null));

      registry.remove(sandbox, "view-a", {
        bridge: view,
        keepControl: true,
        onControlExpired: (controller) => expired.push(controller.userId),
      });
      vi.advanceTimersByTime(14_999);
      expect(registry.state(sandbox).controller?.viewId).toBe("view-a");
      expect(expired).toEqual([]);

      vi.advanceTimersByTime(1);
      expect(registry.state(sandbox).controller).toBeNull();
      expect(expired).toEqual(["u1"]);
      expect(seen).toEqual(["view-a", null]);
      // The sandbox has no viewers and no controller left, so it is gone.
      expect(registry.list()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("releases control at once for a close on purpose", () => {
    const registry = new VncSessionRegistry();
    const view = addView(registry, "view-a", "u1");
    registry.take(sandbox, "view-a", "u1");

    const removal = registry.remove(sandbox, "view-a", { bridge: view, keepControl: false });
    expect(removal.released?.viewId).toBe("view-a");
    expect(removal.suspended).toBeNull();
    expect(registry.state(sandbox).controller).toBeNull();
  });

  it("lets a newer take or a release end waiting control", () => {
    vi.useFakeTimers();
    try {
      const registry = new VncSessionRegistry();
      const dropped = addView(registry, "view-a", "u1");
      addView(registry, "view-b", "u2");
      const expired: string[] = [];
      const onControlExpired = (controller: { viewId: string }) =>
        expired.push(controller.viewId);

      registry.take(sandbox, "view-a", "u1");
      registry.remove(sandbox, "view-a", { bridge: dropped, keepControl: true, onControlExpired });
      const takeover = registry.take(sandbox, "view-b", "u2");
      expect(takeover.previous).toMatchObject({ userId: "u1", viewId: "view-a" });
      vi.advanceTimersByTime(60_000);
      expect(registry.state(sandbox).controller?.viewId).toBe("view-b");
      expect(expired).toEqual([]);

      // The dropped view's user may release control while it waits.
      registry.release(sandbox, "view-b", "u2");
      const again = addView(registry, "view-c", "u1");
      registry.take(sandbox, "view-c", "u1");
      registry.remove(sandbox, "view-c", { bridge: again, keepControl: true, onControlExpired });
      expect(registry.release(sandbox, "view-c", "u1")?.viewId).toBe("view-c");
      expect(registry.state(sandbox).controller).toBeNull();
      vi.advanceTimersByTime(60_000);
      expect(expired).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("replaces a user's view that reopens with the same id", () => {
    const registry = new VncSessionRegistry();
    const stale = addView(registry, "view-a", "u1");
    registry.take(sandbox, "view-a", "u1");

    const fresh = new RecordingView();
    const added = registry.add({
      key: sandbox,
      viewId: "view-a",
      userId: "u1",
      userName: "User u1",
      mode: "full",
      bridge: fresh,
    });
    expect(stale.closed).toBe(true);
    expect(added.resumed?.viewId).toBe("view-a");
    expect(fresh.viewOnly).toBe(false);
    expect(registry.state(sandbox).viewers).toHaveLength(1);

    // The old bridge's end must not remove the view that replaced it.
    expect(registry.remove(sandbox, "view-a", { bridge: stale })).toEqual({
      released: null,
      suspended: null,
    });
    expect(registry.state(sandbox).controller?.viewId).toBe("view-a");
    expect(codeOf(() => addView(registry, "view-a", "u2"))).toBe("conflict");
  });

  it("expires waiting control when all views close", async () => {
    const registry = new VncSessionRegistry();
    const view = addView(registry, "view-a", "u1");
    registry.take(sandbox, "view-a", "u1");
    const expired: string[] = [];
    registry.remove(sandbox, "view-a", {
      bridge: view,
      keepControl: true,
      onControlExpired: (controller) => expired.push(controller.viewId),
    });

    await registry.closeAll(1_000);
    expect(expired).toEqual(["view-a"]);
    expect(registry.list()).toEqual([]);
  });

  it("closes every view and waits for them to end", async () => {
    const registry = new VncSessionRegistry();
    const views = [addView(registry, "view-a", "u1"), addView(registry, "view-b", "u2")];
    await registry.closeAll(1_000);
    expect(views.every((view) => view.closed)).toBe(true);
  });

  it("closes only the views of one user", () => {
    const registry = new VncSessionRegistry();
    const mine = addView(registry, "view-a", "u1");
    const tile = addView(registry, "view-b", "u1", "tile");
    const theirs = addView(registry, "view-c", "u2");

    expect(registry.closeUserViews("u1")).toBe(2);
    expect(mine.closed).toBe(true);
    expect(tile.closed).toBe(true);
    expect(theirs.closed).toBe(false);
  });
});
