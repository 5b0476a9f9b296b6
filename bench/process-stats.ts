// CPU time and resident memory of a process tree, read from /proc (Linux only). The tree is the
// root and every live descendant; CPU of descendants that have already exited and been reaped is
// in the root's cutime/cstime, so nothing is lost when PostgreSQL or the cluster replaces a child.
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ: 100 on every Linux x86_64/arm64 kernel
const pageBytes = 4096;

type ProcStat = { pid: number; ppid: number; cpuTicks: number; childTicks: number; systemTicks: number; rssBytes: number };

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17, rss 24.
    return {
      pid,
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
      systemTicks: Number(fields[12]) + Number(fields[14]),
      rssBytes: Number(fields[21]) * pageBytes,
    };
  } catch {
    return undefined; // exited between the directory listing and the read
  }
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

export type TreeSample = {
  /** CPU seconds (user + system) of the tree since each process started, reaped children included. */
  readonly cpuSeconds: number;
  /** The part of cpuSeconds spent in the kernel (system calls: sockets, files). */
  readonly systemSeconds: number;
  /** Resident memory of each live process in the tree, by pid. */
  readonly rssBytesByPid: ReadonlyMap<number, number>;
};

export function sampleTree(rootPid: number): TreeSample {
  const stats = allStats();
  const childrenOf = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const siblings = childrenOf.get(stat.ppid) ?? [];
    siblings.push(stat);
    childrenOf.set(stat.ppid, siblings);
  }
  const root = stats.find((stat) => stat.pid === rootPid);
  if (!root) return { cpuSeconds: 0, systemSeconds: 0, rssBytesByPid: new Map() };
  let ticks = root.childTicks;
  let systemTicks = 0;
  const rssBytesByPid = new Map<number, number>();
  const pending = [root];
  while (pending.length > 0) {
    const stat = pending.pop()!;
    ticks += stat.cpuTicks;
    systemTicks += stat.systemTicks;
    rssBytesByPid.set(stat.pid, stat.rssBytes);
    pending.push(...(childrenOf.get(stat.pid) ?? []));
  }
  return { cpuSeconds: ticks / ticksPerSecond, systemSeconds: systemTicks / ticksPerSecond, rssBytesByPid };
}

/** Samples a tree every `intervalMs` and keeps the peak resident memory of each process. */
export class TreeMonitor {
  readonly #rootPid: number;
  readonly #timer: NodeJS.Timeout;
  readonly #startCpuSeconds: number;
  readonly #startSystemSeconds: number;
  #peakRssByPid = new Map<number, number>();
  #peakTotalRss = 0;

  constructor(rootPid: number, intervalMs = 200) {
    this.#rootPid = rootPid;
    const start = this.#sample();
    this.#startCpuSeconds = start.cpuSeconds;
    this.#startSystemSeconds = start.systemSeconds;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): TreeSample {
    const sample = sampleTree(this.#rootPid);
    let total = 0;
    for (const [pid, rss] of sample.rssBytesByPid) {
      total += rss;
      if (rss > (this.#peakRssByPid.get(pid) ?? 0)) this.#peakRssByPid.set(pid, rss);
    }
    this.#peakTotalRss = Math.max(this.#peakTotalRss, total);
    return sample;
  }

  stop(): { cpuSeconds: number; systemSeconds: number; peakRssBytesPerProcess: number; peakRssBytesTotal: number; processes: number } {
    clearInterval(this.#timer);
    const end = this.#sample();
    return {
      cpuSeconds: end.cpuSeconds - this.#startCpuSeconds,
      systemSeconds: end.systemSeconds - this.#startSystemSeconds,
      peakRssBytesPerProcess: Math.max(0, ...this.#peakRssByPid.values()),
      peakRssBytesTotal: this.#peakTotalRss,
      processes: end.rssBytesByPid.size,
    };
  }
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
