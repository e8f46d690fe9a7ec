import { spawn } from "node:child_process";

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
}

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Text written to the process's stdin, which is then closed. */
  input?: string;
  /** The process gets SIGKILL after this many milliseconds. */
  timeoutMs?: number;
}

/**
 * Runs a program without a shell and collects its output. A non-zero exit
 * code is returned, not thrown, so callers decide what counts as failure.
 */
export function runCommand(
  program: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;

  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);

    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`Failed to run ${program}: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        const command = [program, ...args].join(" ");
        reject(new Error(`${command} timed out after ${timeoutMs} ms`));
        return;
      }
      resolve({
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        code,
      });
    });

    if (child.stdin) {
      // A program may exit before reading its input, which is not an error
      // here because its exit code reports the outcome.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

/** Runs a program and throws with its stderr when it exits non-zero. */
export async function runCommandOrThrow(
  program: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommand(program, args, options);

  if (result.code !== 0) {
    const command = [program, ...args].join(" ");
    throw new Error(
      `${command} failed with exit code ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result;
}
