import { readFile } from 'node:fs/promises';

// CPU and memory of a controller process, read from /proc (Linux): the same method for
// Sluice (Node) and Flagger (Go), nothing asked of the process itself.

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

export interface ProcSample {
  /** user + system CPU time, seconds. */
  cpuSeconds: number;
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  peakRssBytes: number;
}

/** utime + stime (fields 14 and 15) of /proc/<pid>/stat, in seconds. */
export function parseProcStat(text: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`/proc/<pid>/stat: no utime/stime in ${text.slice(0, 120)}`);
  return (utime + stime) / CLOCK_TICKS;
}

/** VmRSS and VmHWM of /proc/<pid>/status, in bytes. */
export function parseProcStatus(text: string): { rssBytes: number; peakRssBytes: number } {
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`/proc/<pid>/status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

export async function sampleProcess(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  return { cpuSeconds: parseProcStat(stat), ...parseProcStatus(status) };
}

/** Samples a process every `everyMs` while it runs, keeping the series for the report. */
export class ProcessMonitor {
  readonly samples: (ProcSample & { at: number })[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  async sample(): Promise<ProcSample> {
    const sample = await sampleProcess(this.pid);
    this.samples.push({ ...sample, at: Date.now() });
    return sample;
  }

  start(everyMs = 1000): void {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The largest RSS sampled between two instants (epoch ms). */
  maxRssBetween(from: number, to: number): number {
    let max = 0;
    for (const s of this.samples) if (s.at >= from && s.at <= to) max = Math.max(max, s.rssBytes);
    return max;
  }
}

/** The 1-minute load average (for the report: the machine is shared). */
export async function loadAverage(): Promise<number[]> {
  const text = await readFile('/proc/loadavg', 'utf8');
  return text.split(' ').slice(0, 3).map(Number);
}
