// Types for the parts of noVNC 1.7's RFB class that the console uses. The
// package ships plain ES modules without declarations. The members below
// follow its docs/API.md.
declare module "@novnc/novnc" {
  export interface RfbOptions {
    /** Asks the server to keep other clients connected. Default true. */
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    repeaterID?: string;
    wsProtocols?: string[];
  }

  export interface RfbEventMap {
    connect: CustomEvent<Record<string, never>>;
    /** `clean` is false when the connection ended unexpectedly. */
    disconnect: CustomEvent<{ clean: boolean }>;
    securityfailure: CustomEvent<{ status: number; reason?: string }>;
    credentialsrequired: CustomEvent<{ types: string[] }>;
    clipboard: CustomEvent<{ text: string }>;
    desktopname: CustomEvent<{ name: string }>;
    bell: CustomEvent<Record<string, never>>;
  }

  export default class RFB extends EventTarget {
    /**
     * Attaches a canvas to `target` and starts the RFB handshake over
     * `urlOrChannel`, a WebSocket URL or an open or opening WebSocket.
     */
    constructor(
      target: HTMLElement,
      urlOrChannel: string | WebSocket,
      options?: RfbOptions,
    );

    viewOnly: boolean;
    focusOnClick: boolean;
    clipViewport: boolean;
    dragViewport: boolean;
    scaleViewport: boolean;
    resizeSession: boolean;
    showDotCursor: boolean;
    /** CSS background of the area around the scaled screen. */
    background: string;
    /** JPEG quality requested from the server, 0 (low) to 9 (high). */
    qualityLevel: number;
    /** Compression level requested from the server, 0 (none) to 9. */
    compressionLevel: number;

    addEventListener<K extends keyof RfbEventMap>(
      type: K,
      listener: (event: RfbEventMap[K]) => void,
    ): void;
    removeEventListener<K extends keyof RfbEventMap>(
      type: K,
      listener: (event: RfbEventMap[K]) => void,
    ): void;

    disconnect(): void;
    focus(options?: FocusOptions): void;
    blur(): void;
    /** Sends `text` to the server's clipboard. Ignored while view-only. */
    clipboardPasteFrom(text: string): void;
    sendCtrlAltDel(): void;
    getImageData(): ImageData;
    toDataURL(type?: string, encoderOptions?: number): string;
    toBlob(
      callback: (blob: Blob | null) => void,
      type?: string,
      quality?: number,
    ): void;
  }
}
