import { describe, expect, it } from "vitest";

import { explainClose, explainRejection } from "./close-reason";

describe("explainClose", () => {
  it("asks for a probe after a rejected upgrade", () => {
    expect(explainClose({ code: 1006, reason: "" }, false)).toBeNull();
    expect(explainClose(null, false)).toBeNull();
  });

  it("retries when socat ends", () => {
    expect(explainClose({ code: 1000, reason: "" }, true)).toEqual({
      message: "The sandbox's VNC server closed the connection",
      retry: true,
    });
  });

  it("shows the server's reason", () => {
    expect(explainClose({ code: 1011, reason: "VNC server unreachable" }, true)).toEqual({
      message: "VNC server unreachable",
      retry: true,
    });
  });

  it("retries a lost connection", () => {
    expect(explainClose({ code: 1006, reason: "" }, true)).toEqual({
      message: "The connection to the console was lost",
      retry: true,
    });
  });

  it("stops after a protocol error", () => {
    const explanation = explainClose({ code: 1008, reason: "invalid RFB data" }, true);
    expect(explanation?.retry).toBe(false);
    expect(explanation?.message).toBe("The console rejected the viewer's data: invalid RFB data");
  });

  it("names an unknown code", () => {
    expect(explainClose({ code: 4000, reason: "" }, true)?.message).toBe(
      "The connection closed with WebSocket code 4000",
    );
  });

  it("explains a close frame before open", () => {
    expect(explainClose({ code: 1001, reason: "shutting down" }, false)).toEqual({
      message: "shutting down",
      retry: true,
    });
  });
});

describe("explainRejection", () => {
  it("stops when signed out", () => {
    expect(explainRejection(401)).toEqual({
      message: "Your session has ended. Sign in again to watch.",
      retry: false,
    });
  });

  it("stops without the permission", () => {
    expect(explainRejection(403).retry).toBe(false);
  });

  it("retries other rejections", () => {
    expect(explainRejection(200).retry).toBe(true);
    expect(explainRejection(503).retry).toBe(true);
  });

  it("retries an unreachable console", () => {
    expect(explainRejection(null)).toEqual({ message: "The console is unreachable", retry: true });
  });
});

describe("explainRejection with the console's message", () => {
  it("shows the message and stops retrying for a wrong address", () => {
    const explanation = explainRejection(404, 'Unknown host "lab".');
    expect(explanation.message).toBe('Unknown host "lab".');
    expect(explanation.retry).toBe(false);
  });

  it("keeps retrying for a stopped instance", () => {
    const explanation = explainRejection(409, "agent-1 is stopped; start it to watch its screen.");
    expect(explanation.message).toContain("stopped");
    expect(explanation.retry).toBe(true);
  });
});
