// CPU time of processes and of the whole machine over a window, from /proc.

import { readFile, readdir } from "node:fs/promises";

// Linux reports process CPU time in clock ticks of 10 ms (USER_HZ 100 on
// every common architecture).
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** The console server's CPU time, in % of one core. */
  consolePercent: number;
  /** The LXD daemon's CPU time, in % of one core. */
  lxdPercent: number;
  /**
   * The bench process and its descendants apart from the console, which is
   * mostly Playwright's Chromium, in % of one core.
   */
  benchPercent: number;
  /** Busy time of all CPUs, in % of all of them. */
  machineBusyPercent: number;
}

export interface SampledPids {
  console: number;
  lxd: number;
  bench: number;
}

/**
 * Measures the CPU use of `pids` over `windowMs`, calling `everySecond`
 * once a second meanwhile.
 */
export async function sampleProcesses(
  pids: SampledPids,
  windowMs: number,
  everySecond: () => Promise<void>,
): Promise<ProcessSample> {
  const before = await snapshot(pids);
  const started = performance.now();
  while (performance.now() - started < windowMs) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await everySecond();
  }
  const after = await snapshot(pids);
  const seconds = (performance.now() - started) / 1000;

  const percent = (ticks: number) => (ticks / TICKS_PER_SECOND / seconds) * 100;
  const busy = after.machineBusy - before.machineBusy;
  const total = after.machineTotal - before.machineTotal;
  return {
    consolePercent: percent(after.console - before.console),
    lxdPercent: percent(after.lxd - before.lxd),
    benchPercent: percent(after.bench - before.bench),
    machineBusyPercent: total > 0 ? (busy / total) * 100 : 0,
  };
}

interface Snapshot {
  console: number;
  lxd: number;
  bench: number;
  machineBusy: number;
  machineTotal: number;
}

async function snapshot(pids: SampledPids): Promise<Snapshot> {
  const tree = await processTree();
  const consoleTree = descendants(tree, pids.console);
  const benchTree = descendants(tree, pids.bench).filter((pid) => !consoleTree.includes(pid));
  const [cpuLine = ""] = (await readFile("/proc/stat", "utf8")).split("\n");
  // user nice system idle iowait irq softirq steal
  const fields = cpuLine.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((sum, value) => sum + value, 0);

  return {
    console: await cpuTicks(consoleTree),
    lxd: await cpuTicks([pids.lxd]),
    bench: await cpuTicks(benchTree),
    machineBusy: total - idle,
    machineTotal: total,
  };
}

/** Returns parent pid by pid for every process. */
async function processTree(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readStat(Number(entry));
    if (stat) parents.set(Number(entry), stat.parent);
  }
  return parents;
}

function descendants(parents: Map<number, number>, rootPid: number): number[] {
  const found = [rootPid];
  for (let index = 0; index < found.length; index += 1) {
    for (const [pid, parent] of parents) {
      if (parent === found[index]) found.push(pid);
    }
  }
  return found;
}

async function cpuTicks(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) ticks += (await readStat(pid))?.ticks ?? 0;
  return ticks;
}

async function readStat(pid: number): Promise<{ parent: number; ticks: number } | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name may contain spaces, so fields count from its ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    parent: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  };
}
