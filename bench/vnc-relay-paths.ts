// The two paths of bench/vnc-relay.ts to the sandbox's Xvnc, and the CPU
// time of the processes that relay them.

import fs from "node:fs";
import net from "node:net";

import WebSocket from "ws";

import { RfbClient, tcpTransport, webSocketTransport } from "./rfb-client";

export type RelayPath = "direct" | "bridge";

export async function openDirect(port: number): Promise<RfbClient> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return new RfbClient(tcpTransport(socket));
}

export async function openBridge(url: string): Promise<RfbClient> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return new RfbClient(webSocketTransport(socket));
}

/** Returns the CPU time (user and system) of the processes so far, in ms. */
export function processCpuMs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) total += statCpuMs(`/proc/${pid}/stat`);
  return total;
}

/**
 * Returns the CPU time of this process's main thread so far, in ms: the
 * bridge's event loop, without the measuring worker and V8's helper
 * threads. The main thread's id is the process id.
 */
export function mainThreadCpuMs(): number {
  return statCpuMs(`/proc/${process.pid}/task/${process.pid}/stat`);
}

/** Returns the user and system CPU time in a /proc stat file, in ms. */
function statCpuMs(file: string): number {
  // Fields after the command name: utime and stime are the 12th and 13th,
  // in clock ticks of 10 ms (USER_HZ is 100 on Linux).
  const stat = fs.readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Returns the file that contains the CPU time of a container's processes:
 * cpuacct.usage (ns) under cgroup v1, or cpu.stat (usage_usec) under v2.
 * LXD puts a container's processes in the cgroup lxc.payload.NAME.
 */
export function sandboxCpuFile(instance: string): string {
  const candidates = [
    `/sys/fs/cgroup/cpuacct/lxc.payload.${instance}/cpuacct.usage`,
    `/sys/fs/cgroup/lxc.payload.${instance}/cpu.stat`,
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) {
    throw new Error(
      `No CPU accounting file for ${instance} (looked for ${candidates.join(" and ")})`,
    );
  }
  return found;
}

/** Returns the CPU time that a sandboxCpuFile() reports, in ms. */
export function readSandboxCpuMs(file: string): number {
  const text = fs.readFileSync(file, "utf8");
  if (file.endsWith("cpuacct.usage")) return Number(text.trim()) / 1e6;

  const usage = /^usage_usec (\d+)$/m.exec(text);
  if (!usage) throw new Error(`${file} has no usage_usec line`);
  return Number(usage[1]) / 1000;
}

/** Returns the busy and total CPU time of the machine so far, in ticks. */
export function machineCpuTicks(): { busy: number; total: number } {
  const [line = ""] = fs.readFileSync("/proc/stat", "utf8").split("\n");
  // The "cpu" line: user nice system idle iowait irq softirq steal.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}
