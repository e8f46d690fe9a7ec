import { ConsoleError } from "@/lib/errors";

/** Client-to-server RFB message types, including noVNC's extensions. */
export const RfbClientMessage = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  Xvp: 250,
  SetDesktopSize: 251,
  Qemu: 255,
} as const;

// Messages that change the sandbox: input, the clipboard, the screen size
// and xvp's shutdown or reboot requests. A view-only viewer may not send
// them. QEMU's extended key event (type 255, subtype 0) is a key press too.
const INPUT_MESSAGES: ReadonlySet<number> = new Set([
  RfbClientMessage.KeyEvent,
  RfbClientMessage.PointerEvent,
  RfbClientMessage.ClientCutText,
  RfbClientMessage.Xvp,
  RfbClientMessage.SetDesktopSize,
  RfbClientMessage.Qemu,
]);

const PROTOCOL_VERSION_LENGTH = 12;
const VNC_AUTH_RESPONSE_LENGTH = 16;
const SECURITY_NONE = 1;
const SECURITY_VNC_AUTH = 2;
const QEMU_EXTENDED_KEY_EVENT = 0;

type Phase =
  | "protocol-version"
  | "security-type"
  | "vnc-auth-response"
  | "client-init"
  | "messages";

/**
 * Progress on the current unit: either the bytes needed before its length
 * is known, or its total length and whether it carries input.
 */
type Measurement =
  | { kind: "need"; bytes: number }
  | { kind: "complete"; total: number; input: boolean };

/** Forwarded bytes of one client message or handshake unit. */
export interface RfbSegment {
  /** Client message type, or null for a handshake unit. */
  messageType: number | null;
  bytes: Buffer;
  /** Whether these bytes end the message. */
  last: boolean;
}

export interface RfbInputFilterOptions {
  /** Initial state of `viewOnly`; true when left out. */
  viewOnly?: boolean;
}

/**
 * Follows the bytes a VNC client sends to the server and, while `viewOnly`
 * is set, removes the messages that carry input, so a viewer can watch
 * without controlling. `viewOnly` may change at any time and takes effect
 * at the next message: a message keeps the state it started under to its
 * last byte. It tracks the handshake of RFB 3.7 and 3.8 (ProtocolVersion, the security
 * type choice, a VNC authentication response when that type is chosen, and
 * ClientInit), then the boundaries of every client message. Chunks may split
 * messages anywhere. A message it cannot measure throws ConsoleError
 * ("invalid_input"), because after that no boundary can be trusted. The
 * server only receives whole messages of the types forwarded here, so it
 * parses the same boundaries as the filter.
 */
export class RfbInputFilter {
  private phase: Phase = "protocol-version";
  /** Bytes of the current unit read before its length was known. */
  private header: Buffer = Buffer.alloc(0);
  /** Bytes of the current unit that are still to be forwarded or dropped. */
  private remaining = 0;
  private forwarding = true;
  /** Message type of the current unit, or null during the handshake. */
  private unitType: number | null = null;
  /** `viewOnly` when the current unit's first byte arrived. */
  private unitViewOnly: boolean;
  private failed = false;

  /** Whether input messages are dropped. */
  viewOnly: boolean;

  /** Number of client messages removed so far. */
  droppedMessages = 0;

  constructor(options: RfbInputFilterOptions = {}) {
    this.viewOnly = options.viewOnly ?? true;
    this.unitViewOnly = this.viewOnly;
  }

  /** Returns the part of `chunk` that may go on to the server. */
  filter(chunk: Buffer): Buffer {
    return Buffer.concat(this.segments(chunk).map((segment) => segment.bytes));
  }

  /**
   * Returns the part of `chunk` that may go on to the server, cut at
   * message boundaries and labelled with each message's type.
   */
  segments(chunk: Buffer): RfbSegment[] {
    if (this.failed) {
      throw new ConsoleError(
        "invalid_input",
        "The RFB input filter already rejected this connection's data.",
      );
    }

    const output: RfbSegment[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const length = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= length;
        if (this.forwarding) {
          output.push({
            messageType: this.unitType,
            bytes: chunk.subarray(offset, offset + length),
            last: this.remaining === 0,
          });
        }
        offset += length;
        continue;
      }

      if (this.header.length === 0) {
        this.unitViewOnly = this.viewOnly;
        this.unitType = this.phase === "messages" ? chunk[offset]! : null;
      }
      let measurement = this.measure();
      if (measurement.kind === "need") {
        const length = Math.min(
          measurement.bytes - this.header.length,
          chunk.length - offset,
        );
        this.header = Buffer.concat([
          this.header,
          chunk.subarray(offset, offset + length),
        ]);
        offset += length;
        measurement = this.measure();
        if (measurement.kind === "need") continue;
      }

      this.startUnit(measurement, output);
    }
    return output;
  }

  private startUnit(
    measurement: Extract<Measurement, { kind: "complete" }>,
    output: RfbSegment[],
  ): void {
    this.forwarding = !(measurement.input && this.unitViewOnly);
    this.remaining = measurement.total - this.header.length;
    if (this.forwarding) {
      output.push({
        messageType: this.unitType,
        bytes: this.header,
        last: this.remaining === 0,
      });
    } else {
      this.droppedMessages += 1;
    }
    this.header = Buffer.alloc(0);
  }

  private measure(): Measurement {
    try {
      return this.phase === "messages"
        ? measureMessage(this.header)
        : this.measureHandshake();
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  /** Measures a handshake unit and moves to the next phase once it is complete. */
  private measureHandshake(): Measurement {
    const header = this.header;
    switch (this.phase) {
      case "protocol-version": {
        if (header.length < PROTOCOL_VERSION_LENGTH) {
          return { kind: "need", bytes: PROTOCOL_VERSION_LENGTH };
        }
        const version = header.toString("latin1");
        if (version !== "RFB 003.008\n" && version !== "RFB 003.007\n") {
          throw new ConsoleError(
            "invalid_input",
            `The VNC client chose protocol version ${JSON.stringify(version)}; ` +
              "the console's VNC bridge supports RFB 3.7 and 3.8.",
          );
        }
        this.phase = "security-type";
        return { kind: "complete", total: header.length, input: false };
      }
      case "security-type": {
        if (header.length < 1) return { kind: "need", bytes: 1 };
        const securityType = header[0];
        if (securityType === SECURITY_NONE) {
          this.phase = "client-init";
        } else if (securityType === SECURITY_VNC_AUTH) {
          this.phase = "vnc-auth-response";
        } else {
          throw new ConsoleError(
            "invalid_input",
            `The VNC client chose security type ${securityType}; the ` +
              "console's VNC bridge supports None (1) and VNC authentication (2).",
          );
        }
        return { kind: "complete", total: 1, input: false };
      }
      case "vnc-auth-response": {
        if (header.length < VNC_AUTH_RESPONSE_LENGTH) {
          return { kind: "need", bytes: VNC_AUTH_RESPONSE_LENGTH };
        }
        this.phase = "client-init";
        return { kind: "complete", total: header.length, input: false };
      }
      case "client-init": {
        if (header.length < 1) return { kind: "need", bytes: 1 };
        this.phase = "messages";
        return { kind: "complete", total: 1, input: false };
      }
      case "messages":
        throw new Error("measureHandshake called after the handshake");
    }
  }
}

/** Measures one client message from the start of its bytes in `header`. */
function measureMessage(header: Buffer): Measurement {
  if (header.length < 1) return { kind: "need", bytes: 1 };
  const type = header[0]!;

  const length = messageLength(type, header);
  if (typeof length !== "number") return length;
  return { kind: "complete", total: length, input: isInput(type, header) };
}

/**
 * Returns the total length of a message of `type`, or the header length
 * needed to determine it. The extensions' layouts match the messages that
 * noVNC's RFB.messages writes.
 */
function messageLength(
  type: number,
  header: Buffer,
): number | { kind: "need"; bytes: number } {
  const need = (bytes: number) => ({ kind: "need" as const, bytes });

  switch (type) {
    case RfbClientMessage.SetPixelFormat:
      return 20;
    case RfbClientMessage.SetEncodings:
      // type, padding, u16 count, then count s32 encodings.
      return header.length < 4 ? need(4) : 4 + 4 * header.readUInt16BE(2);
    case RfbClientMessage.FramebufferUpdateRequest:
      return 10;
    case RfbClientMessage.KeyEvent:
      return 8;
    case RfbClientMessage.PointerEvent:
      // The ExtendedMouseButtons extension sets bit 7 of the button mask
      // and appends a second mask byte.
      if (header.length < 2) return need(2);
      return (header[1]! & 0x80) === 0 ? 6 : 7;
    case RfbClientMessage.ClientCutText:
      // type, 3 padding, s32 length, then the text. The extended clipboard
      // pseudo-encoding sends a negative length for |length| bytes.
      return header.length < 8 ? need(8) : 8 + Math.abs(header.readInt32BE(4));
    case RfbClientMessage.EnableContinuousUpdates:
      return 10;
    case RfbClientMessage.ClientFence:
      // type, 3 padding, u32 flags, u8 length, then the payload.
      return header.length < 9 ? need(9) : 9 + header.readUInt8(8);
    case RfbClientMessage.Xvp:
      return 4;
    case RfbClientMessage.SetDesktopSize:
      // type, padding, u16 width, u16 height, u8 screens, padding, then
      // 16 bytes per screen.
      return header.length < 8 ? need(8) : 8 + 16 * header.readUInt8(6);
    case RfbClientMessage.Qemu: {
      if (header.length < 2) return need(2);
      if (header[1] === QEMU_EXTENDED_KEY_EVENT) return 12;
      throw new ConsoleError(
        "invalid_input",
        `The VNC client sent QEMU message subtype ${header[1]}, which the ` +
          "console's RFB filter cannot measure.",
      );
    }
    default:
      throw new ConsoleError(
        "invalid_input",
        `The VNC client sent message type ${type}, which the console's RFB ` +
          "filter cannot measure.",
      );
  }
}

function isInput(type: number, header: Buffer): boolean {
  if (type === RfbClientMessage.Qemu) {
    return header[1] === QEMU_EXTENDED_KEY_EVENT;
  }
  return INPUT_MESSAGES.has(type);
}
