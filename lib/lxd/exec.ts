import { PassThrough, Writable, type Readable } from "node:stream";

import type WebSocket from "ws";

import { ConsoleError } from "@/lib/errors";

import { lxdPath, type LxdClient } from "./client";
import { assertInstanceRef, type LxdInstanceRef } from "./names";
import { waitForOperation } from "./operations";
import type { LxdExecMetadata, LxdExecPost, LxdOperation } from "./types";

export interface ExecOptions {
  environment?: Record<string, string>;
  cwd?: string;
  user?: number;
  group?: number;
}

/**
 * A command running in an instance, with its standard streams relayed
 * through LXD's exec WebSockets. Ending `stdin` sends end-of-file. Writing
 * after the command closed its input emits an error on `stdin`, as a write
 * to a closed pipe does.
 */
export interface ExecSession {
  operation: LxdOperation;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /**
   * Waits for the command to exit and its output to be delivered, and
   * returns its exit code. Throws ConsoleError("timeout") after `timeoutMs`.
   */
  wait(options: { timeoutMs: number }): Promise<number>;
  /** Sends a signal (such as 15 for SIGTERM) to the command. */
  signal(signal: number): void;
  /** Closes all WebSockets. The command may keep running. */
  close(): void;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

// Time allowed for LXD to close the output streams after the command exited.
// Streams close within milliseconds on an idle machine. With 5 s, a test run
// under a load average of 12 once returned an empty stderr for a command that
// wrote to it, most likely cut off here. Waiting costs nothing when the
// streams close early, so the margin is wide.
// NOTE: output still in flight after this is cut off without an error.
const OUTPUT_DRAIN_MS = 30_000;

/**
 * Starts a command in an instance, non-interactive: LXD gives it pipes, not
 * a terminal, so binary data passes unchanged (a terminal would turn LF into
 * CRLF and echo input).
 */
export async function startExec(
  client: LxdClient,
  ref: LxdInstanceRef,
  command: string[],
  options: ExecOptions = {},
): Promise<ExecSession> {
  assertInstanceRef(ref);
  if (command.length === 0) {
    throw new ConsoleError("invalid_input", "The command to run is empty.");
  }

  const body: LxdExecPost = {
    command,
    environment: options.environment,
    cwd: options.cwd,
    user: options.user,
    group: options.group,
    interactive: false,
    "wait-for-websocket": true,
    "record-output": false,
  };
  const operation = await client.requestOperation(
    "POST",
    lxdPath`/1.0/instances/${ref.name}/exec`,
    { query: { project: ref.project }, body },
  );

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const sockets = await connectExecSockets(client, operation, {
    stdout,
    stderr,
  });
  const [stdinSocket, stdoutSocket, stderrSocket, controlSocket] = sockets;

  const closeAll = () => {
    for (const socket of sockets) socket.terminate();
  };

  return {
    operation,
    stdin: stdinWriter(stdinSocket),
    stdout,
    stderr,
    wait: async ({ timeoutMs }) => {
      const final = await waitForOperation(client, operation, { timeoutMs });
      await Promise.all([
        closedWithin(stdoutSocket, OUTPUT_DRAIN_MS),
        closedWithin(stderrSocket, OUTPUT_DRAIN_MS),
      ]);
      controlSocket.close(1000);
      const exitCode = (final.metadata as { return?: unknown } | null)?.return;
      if (typeof exitCode !== "number") {
        throw new ConsoleError(
          "lxd_error",
          `LXD's exec operation ${operation.id} finished without an exit code`,
        );
      }
      return exitCode;
    },
    signal: (signal) => {
      controlSocket.send(JSON.stringify({ command: "signal", signal }));
    },
    close: closeAll,
  };
}

/**
 * Runs a command to completion and returns its exit code and output. The
 * output is held in memory, so this suits commands with small output.
 */
export async function execCommand(
  client: LxdClient,
  ref: LxdInstanceRef,
  command: string[],
  options: ExecOptions & { stdin?: string | Buffer; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const session = await startExec(client, ref, command, options);
  const stdout = collect(session.stdout);
  const stderr = collect(session.stderr);

  // A command may exit without reading its input. Like a write to a closed
  // pipe, that fails the write, and the exit code reports the outcome.
  session.stdin.on("error", () => {});

  try {
    if (options.stdin !== undefined && options.stdin.length > 0) {
      session.stdin.write(options.stdin);
    }
    session.stdin.end();
    const exitCode = await session.wait({
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    return { exitCode, stdout: await stdout, stderr: await stderr };
  } finally {
    session.close();
  }
}

/**
 * Connects the WebSockets of the control channel and fds 0, 1 and 2. LXD
 * 5.0 starts the command as soon as fds 0-2 are connected and rejects
 * connections once the command has ended, so the control channel connects
 * first. Output may arrive right away, so the relays attach before each
 * WebSocket opens.
 */
async function connectExecSockets(
  client: LxdClient,
  operation: LxdOperation,
  outputs: { stdout: PassThrough; stderr: PassThrough },
): Promise<[WebSocket, WebSocket, WebSocket, WebSocket]> {
  const fds = (operation.metadata as LxdExecMetadata | null)?.fds ?? {};
  const path = lxdPath`/1.0/operations/${operation.id}/websocket`;
  const connect = (fd: string) => {
    const secret = fds[fd];
    if (secret === undefined) {
      return Promise.reject(
        new ConsoleError(
          "lxd_error",
          `LXD's exec operation ${operation.id} has no WebSocket for fd ${fd}`,
        ),
      );
    }
    return client.websocket(
      path,
      { secret },
      {
        setup: (socket) => {
          if (fd === "1") relayOutput(socket, outputs.stdout);
          if (fd === "2") relayOutput(socket, outputs.stderr);
        },
      },
    );
  };

  const results: Array<PromiseSettledResult<WebSocket>> = [];
  results.push(...(await Promise.allSettled([connect("control")])));
  if (results[0]?.status === "fulfilled") {
    results.push(...(await Promise.allSettled(["0", "1", "2"].map(connect))));
  }

  const sockets: WebSocket[] = [];
  for (const result of results) {
    if (result.status === "fulfilled") {
      // Errors after the handshake end in a close event, handled there.
      result.value.on("error", () => {});
      sockets.push(result.value);
    }
  }
  const failure = results.find((result) => result.status === "rejected");
  if (failure) {
    for (const socket of sockets) socket.terminate();
    outputs.stdout.destroy();
    outputs.stderr.destroy();
    throw failure.reason;
  }

  const [control, stdin, stdout, stderr] = sockets as [
    WebSocket,
    WebSocket,
    WebSocket,
    WebSocket,
  ];
  return [stdin, stdout, stderr, control];
}

function relayOutput(socket: WebSocket, output: PassThrough): void {
  socket.on("message", (data) => {
    const chunk = toBuffer(data);
    if (chunk.length === 0) return;
    // Stop reading from LXD while the consumer is behind.
    if (!output.write(chunk)) {
      socket.pause();
      output.once("drain", () => socket.resume());
    }
  });
  socket.on("close", () => output.end());
}

function stdinWriter(socket: WebSocket): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (socket.readyState !== socket.OPEN) {
        callback(new Error("The command's stdin is closed"));
        return;
      }
      socket.send(chunk, { binary: true }, callback);
    },
    // LXD closes the command's stdin when this WebSocket closes.
    final(callback) {
      socket.close(1000);
      callback();
    },
  });
}

function closedWithin(socket: WebSocket, timeoutMs: number): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();

  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, timeoutMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
