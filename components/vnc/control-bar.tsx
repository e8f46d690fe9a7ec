"use client";

import type RFB from "@novnc/novnc";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, useTransition, type RefObject } from "react";
import { releaseControlAction, takeControlAction } from "@/app/(console)/sessions/actions";
import { useCurrentUser } from "@/components/current-user";
import type { VncConnectionState } from "@/components/vnc/use-rfb-connection";
import { ToolbarButton } from "@/components/vnc/toolbar-button";
import { formatTime } from "@/lib/format";
import type { InstanceKey } from "@/lib/instances/types";
import { queryKeys } from "@/lib/query-keys";
import {
  applyVncSessionUpdate,
  controlLostNotice,
  describeController,
} from "@/lib/vnc/session-list";
import type { VncController, VncSessionState } from "@/lib/vnc/types";

const DROPPED_CONTROL_NOTICE =
  "Control ended when the connection dropped. This view is view-only again.";

/**
 * Shows who controls the sandbox and lets a permitted user take or release
 * control for this view. Taking it from someone else needs a confirmation
 * that names them.
 */
export function ControlBar({
  instanceKey,
  viewId,
  session,
  connectionState,
  client,
}: {
  instanceKey: InstanceKey;
  viewId: string;
  session: VncSessionState | null;
  connectionState: VncConnectionState;
  client: RefObject<RFB | null>;
}) {
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const confirmDialog = useRef<HTMLDialogElement>(null);
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [releasedHere, setReleasedHere] = useState(false);

  const controller = session?.controller ?? null;
  const inControl = controller?.viewId === viewId;
  const connected = connectionState.phase === "connected";

  // Notices follow changes of the controller that this view did not make.
  const controllerViewId = controller?.viewId ?? null;
  const [seenControllerViewId, setSeenControllerViewId] = useState(controllerViewId);
  if (controllerViewId !== seenControllerViewId) {
    setSeenControllerViewId(controllerViewId);
    if (controllerViewId === viewId) {
      setNotice(null);
    } else if (seenControllerViewId === viewId) {
      if (releasedHere) setReleasedHere(false);
      else if (connected) setNotice(controlLostNotice(controller, viewId, user.id));
      else setNotice(DROPPED_CONTROL_NOTICE);
    }
  }

  useEffect(() => {
    if (inControl && connected) client.current?.focus();
  }, [inControl, connected, client]);

  const setController = (next: VncController | null) => {
    queryClient.setQueryData<VncSessionState[]>(queryKeys.vncSessions(), (current) =>
      current
        ? applyVncSessionUpdate(current, {
            ...instanceKey,
            viewers: session?.viewers ?? [],
            controller: next,
          })
        : current,
    );
  };

  const take = () =>
    startTransition(async () => {
      setError(null);
      const result = await takeControlAction({ ...instanceKey, viewId });
      if (!result.ok) {
        setError(result.error);
        return;
      }
      setController({
        userId: user.id,
        userName: user.name,
        viewId,
        since: new Date().toISOString(),
      });
    });

  const release = () =>
    startTransition(async () => {
      setError(null);
      setReleasedHere(true);
      const result = await releaseControlAction({ ...instanceKey, viewId });
      if (!result.ok) {
        setReleasedHere(false);
        setError(result.error);
        return;
      }
      setController(null);
    });

  const requestTake = () => {
    if (controller && controller.viewId !== viewId) confirmDialog.current?.showModal();
    else take();
  };

  let disabledReason: string | null = null;
  if (!user.canControlSessions) {
    disabledReason =
      "Your account may watch but not control sandbox screens. An admin can grant you control.";
  } else if (!connected) {
    disabledReason = "Available once the view is connected.";
  }

  return (
    <div className="border-b border-slate-800 bg-slate-900/60 px-3 py-2 text-xs">
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <span data-testid="vnc-controller" className={inControl ? "font-medium text-emerald-300" : ""}>
          {describeController(controller, { userId: user.id, viewId })}
          {controller && (
            <span className="text-slate-400"> since {formatTime(controller.since).slice(11)} UTC</span>
          )}
        </span>
        <span className="text-slate-400">
          {inControl ? "Keys, mouse and clipboard reach the sandbox." : "View-only: input stays in your browser."}
        </span>
        <div className="ml-auto flex items-center gap-2">
          {disabledReason && !inControl && (
            <span data-testid="vnc-control-disabled" className="text-slate-400">
              {disabledReason}
            </span>
          )}
          {inControl ? (
            <ToolbarButton onClick={release} disabled={pending}>
              {pending ? "Releasing…" : "Release control"}
            </ToolbarButton>
          ) : (
            <ToolbarButton
              variant="primary"
              onClick={requestTake}
              disabled={pending || disabledReason !== null}
              title={disabledReason ?? "Send your keys, mouse and clipboard to the sandbox"}
            >
              {pending ? "Taking control…" : "Take control"}
            </ToolbarButton>
          )}
        </div>
      </div>

      <div aria-live="polite">
        {notice && (
          <p data-testid="vnc-control-notice" className="mt-2 flex items-center gap-3 rounded bg-amber-500/15 px-2 py-1 text-amber-200">
            {notice}
            <button type="button" onClick={() => setNotice(null)} className="ml-auto underline">
              Dismiss
            </button>
          </p>
        )}
        {error && (
          <p role="alert" className="mt-2 rounded bg-red-500/15 px-2 py-1 text-red-200">
            {error}
          </p>
        )}
      </div>

      <TakeOverDialog
        dialog={confirmDialog}
        controller={controller}
        readerUserId={user.id}
        onConfirm={take}
      />
    </div>
  );
}

function TakeOverDialog({
  dialog,
  controller,
  readerUserId,
  onConfirm,
}: {
  dialog: RefObject<HTMLDialogElement | null>;
  controller: VncController | null;
  readerUserId: string;
  onConfirm: () => void;
}) {
  const sameUser = controller?.userId === readerUserId;
  const holder = sameUser ? "You" : (controller?.userName ?? "Someone");
  const since = controller ? `${formatTime(controller.since)} UTC` : "";

  return (
    <dialog
      ref={dialog}
      aria-labelledby="take-over-title"
      data-testid="vnc-take-over-dialog"
      className="m-auto w-[28rem] max-w-[90vw] rounded-md border border-slate-300 bg-white p-5 text-sm text-slate-900 shadow-xl backdrop:bg-slate-900/50"
    >
      <h2 id="take-over-title" className="mb-2 text-base font-semibold">
        {sameUser ? "Take control into this view?" : `Take control from ${holder}?`}
      </h2>
      <p className="mb-4 text-slate-600">
        {holder} {sameUser ? "have" : "has"} had control{sameUser ? " in another view" : ""} since {since}.
        That view becomes view-only{sameUser ? "" : ", and they are told that you took over"}.
      </p>
      <form method="dialog" className="flex justify-end gap-2">
        <button type="submit" className="rounded border border-slate-300 px-3 py-1.5 font-medium hover:bg-slate-50">
          Cancel
        </button>
        <button
          type="submit"
          onClick={onConfirm}
          className="rounded border border-sky-600 bg-sky-600 px-3 py-1.5 font-medium text-white hover:bg-sky-500"
        >
          Take control
        </button>
      </form>
    </dialog>
  );
}

/**
 * Sends text to the sandbox's clipboard while this view has control, so the
 * user can paste it there with Ctrl+V. A box is needed because noVNC sends
 * Ctrl+V on the screen to the sandbox, so the browser never fires a paste.
 */
export function ClipboardForm({ client }: { client: RefObject<RFB | null> }) {
  const [text, setText] = useState("");
  const [status, setStatus] = useState<string | null>(null);

  const send = (value: string) => {
    const rfb = client.current;
    if (!rfb || value === "") return;
    rfb.clipboardPasteFrom(value);
    setStatus(`Sent ${value.length} characters. Press Ctrl+V in the sandbox to paste them.`);
    setText("");
  };

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        send(text);
      }}
      className="flex flex-wrap items-center gap-2 border-t border-slate-800 bg-slate-900 px-3 py-2 text-xs"
    >
      <label htmlFor="vnc-clipboard" className="text-slate-400">
        Sandbox clipboard
      </label>
      <input
        id="vnc-clipboard"
        value={text}
        onChange={(event) => setText(event.target.value)}
        onPaste={(event) => {
          event.preventDefault();
          send(event.clipboardData.getData("text/plain"));
        }}
        placeholder="Paste or type text to send"
        className="w-72 rounded border border-slate-600 bg-slate-800 px-2 py-1 text-slate-100 placeholder:text-slate-500 focus:border-sky-500 focus:outline-none"
      />
      <ToolbarButton onClick={() => send(text)} disabled={text === ""}>
        Send
      </ToolbarButton>
      <span role="status" className="text-slate-400">
        {status}
      </span>
    </form>
  );
}
