// Whether an instance has a live view, and the words the console uses when it
// has none. Free of server imports so client components can use it.

import type { InstanceStatus, InstanceSummary } from "@/lib/instances/types";

/** Image property value of the sandboxes that run Chromium on a VNC server. */
export const BROWSER_SANDBOX_KIND = "browser";

/** Cause of a missing live view. */
export type NoLiveViewReason =
  /** Only browser sandboxes have a screen. `sandboxKind` is null for other images. */
  | { kind: "not-browser"; sandboxKind: string | null }
  | { kind: "not-running"; status: InstanceStatus };

/** Returns why `instance` has no live view, or null when it has one. */
export function noLiveViewReason(
  instance: Pick<InstanceSummary, "status" | "sandboxKind">,
): NoLiveViewReason | null {
  // The kind comes first: starting a python sandbox would not give it a screen.
  if (instance.sandboxKind !== BROWSER_SANDBOX_KIND) {
    return { kind: "not-browser", sandboxKind: instance.sandboxKind };
  }
  if (instance.status !== "Running") {
    return { kind: "not-running", status: instance.status };
  }
  return null;
}

export interface NoLiveViewMessage {
  title: string;
  detail: string;
}

/**
 * Describes a missing live view for the instance page. `canOperate` is
 * whether the reader may start or unfreeze the instance themselves.
 */
export function describeNoLiveView(
  reason: NoLiveViewReason,
  canOperate: boolean,
): NoLiveViewMessage {
  if (reason.kind === "not-browser") {
    if (reason.sandboxKind === null) {
      return {
        title: "No live view: this instance is not a sandbox",
        detail:
          "It was not made from a sandbox image, so it has no screen to show. " +
          "Only browser sandboxes (image property sandbox_kind=browser) have a live view.",
      };
    }
    return {
      title: `No live view: this is a ${reason.sandboxKind} sandbox`,
      detail:
        "Only browser sandboxes run a screen (Chromium on a VNC server). " +
        `A ${reason.sandboxKind} sandbox has none to show.`,
    };
  }

  const status = reason.status;
  const startHint = canOperate
    ? "Start it with the Start button above"
    : "An admin can start it";
  const afterwards = "; the live view connects once it runs.";

  switch (status) {
    case "Stopped":
      return {
        title: "No live view: the instance is stopped",
        detail: startHint + afterwards,
      };
    case "Frozen":
      return {
        title: "No live view: the instance is frozen",
        detail:
          "Its processes are paused, so its screen does not change. " +
          (canOperate
            ? "Unfreeze it with the Unfreeze button above"
            : "An admin can unfreeze it") +
          afterwards,
      };
    case "Error":
      return {
        title: "No live view: the instance is in an error state",
        detail:
          "LXD could not run it. `lxc info --show-log` on its host shows why; " +
          (canOperate ? "start it again from this page" : "an admin can start it again") +
          afterwards,
      };
    default:
      return {
        title: `No live view: the instance is ${status.toLowerCase()}`,
        detail: "The live view connects once it runs.",
      };
  }
}
