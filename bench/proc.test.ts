import { describe, expect, it } from 'vitest';
import { parseProcStat, parseProcStatus } from './proc.ts';

describe('/proc readers', () => {
  it('reads user + system time, even when the command name has spaces and parentheses', () => {
    const stat =
      '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 125 0 0 20 0 11 0 100 1000 2000';
    expect(parseProcStat(stat)).toBe(3.75);
    expect(() => parseProcStat('4242 (x) S')).toThrow(/utime/);
  });

  it('reads VmRSS and the peak VmHWM in bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t 9999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseProcStatus(status)).toEqual({ rssBytes: 100 * 1024 * 1024, peakRssBytes: 200 * 1024 * 1024 });
    expect(() => parseProcStatus('Name: x')).toThrow(/VmRSS/);
  });
});
