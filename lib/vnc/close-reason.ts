// Words for a VNC viewer's lost connection, and whether trying again can help.
// Free of DOM and React so the rules can be tested on their own.

/** Message a viewer shows after its connection ended, and whether it retries. */
export interface DropExplanation {
  message: string;
  /** False when only the user or an admin can fix the cause. */
  retry: boolean;
}

/** The parts of a WebSocket CloseEvent that explain a drop. */
export interface SocketClose {
  code: number;
  reason: string;
}

// Close codes from RFC 6455 section 7.4.1.
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_ABNORMAL = 1006;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_INTERNAL_ERROR = 1011;

/**
 * Explains a closed VNC WebSocket. Returns null for a socket that closed
 * before it opened without a close frame: browsers hide the HTTP status of a
 * rejected upgrade, so the caller probes the console and uses explainRejection.
 */
export function explainClose(close: SocketClose | null, opened: boolean): DropExplanation | null {
  if (!opened && (close === null || close.code === CLOSE_ABNORMAL)) return null;

  const code = close?.code ?? CLOSE_ABNORMAL;
  const reason = close?.reason.trim() ?? "";
  switch (code) {
    case CLOSE_NORMAL:
      return {
        message: reason || "The sandbox's VNC server closed the connection",
        retry: true,
      };
    case CLOSE_GOING_AWAY:
      return { message: reason || "The console closed the connection", retry: true };
    case CLOSE_ABNORMAL:
      return { message: "The connection to the console was lost", retry: true };
    case CLOSE_INTERNAL_ERROR:
      return { message: reason || "The console failed to reach the VNC server", retry: true };
    // The console sends these for data that a new connection would send again.
    case CLOSE_UNSUPPORTED_DATA:
    case CLOSE_POLICY_VIOLATION:
      return {
        message: `The console rejected the viewer's data${reason ? `: ${reason}` : ""}`,
        retry: false,
      };
    default:
      return {
        message: reason || `The connection closed with WebSocket code ${code}`,
        retry: true,
      };
  }
}

/**
 * Explains a rejected upgrade from the status of a plain request to the
 * console made right after it, or null when that request failed too.
 */
export function explainRejection(
  probeStatus: number | null,
  serverMessage?: string,
): DropExplanation {
  if (probeStatus === null) {
    return { message: "The console is unreachable", retry: true };
  }
  if (probeStatus === 401) {
    return { message: "Your session has ended. Sign in again to watch.", retry: false };
  }
  if (probeStatus === 403) {
    return { message: "Your role does not allow watching sandbox screens", retry: false };
  }
  // Not found (unknown host or instance) needs someone to fix the address;
  // a stopped instance, an unreachable host or a server error may pass.
  return {
    message: serverMessage ?? "The console rejected the connection. The instance may have stopped.",
    retry: probeStatus !== 404 && probeStatus !== 400,
  };
}
