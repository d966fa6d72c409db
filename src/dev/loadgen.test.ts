import { describe, expect, it } from 'vitest';
import { formatCounts, shares, startDemoLoad } from './loadgen.ts';

function fakeClock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe('the demo load generator', () => {
  it('sends at the given rate and counts by status, version and workload', async () => {
    let sent = 0;
    const fakeFetch = (async () => {
      sent += 1;
      const canary = sent % 5 === 0;
      return new Response('{}', {
        status: canary && sent % 10 === 0 ? 500 : 200,
        headers: {
          'x-app-version': canary ? '2.0.0' : '1.0.0',
          'x-sluice-workload': canary ? 'podinfo' : 'podinfo-primary',
        },
      });
    }) as typeof fetch;
    const counts = await startDemoLoad(
      { url: 'http://127.0.0.1:1/', rps: 20, durationMs: 5000 },
      { fetch: fakeFetch, ...fakeClock() },
    ).done;
    expect(counts.total).toBe(100);
    expect(counts.byVersion).toEqual({ '1.0.0': 80, '2.0.0': 20 });
    expect(counts.byWorkload).toEqual({ 'podinfo-primary': 80, podinfo: 20 });
    expect(counts.byStatus).toEqual({ '200': 90, '500': 10 });
    expect(counts.report.requests).toBe(100);
    expect(formatCounts(counts)).toBe(
      '100 requests · 200 90.0% · 500 10.0% · podinfo-primary 80.0% · podinfo 20.0%',
    );
  });

  it('counts requests that got no answer by reason', async () => {
    const refused = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    const counts = await startDemoLoad(
      { url: 'http://127.0.0.1:1/', rps: 10, durationMs: 1000 },
      { fetch: refused, ...fakeClock() },
    ).done;
    expect(counts).toMatchObject({ total: 10, errors: { ECONNREFUSED: 10 }, byStatus: {} });
    expect(formatCounts(counts)).toBe('10 requests · ECONNREFUSED ×10');
  });

  it('stops when asked', async () => {
    const load = startDemoLoad(
      { url: 'http://127.0.0.1:1/', rps: 100 },
      {
        fetch: (async () => new Response('ok')) as typeof fetch,
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
      },
    );
    const counts = await load.stop();
    expect(counts.report.aborted).toBe(true);
  });
});

describe('shares', () => {
  it('are percentages of the total, largest first', () => {
    expect(shares({ b: 1, a: 3 })).toEqual([
      { key: 'a', count: 3, percent: 75 },
      { key: 'b', count: 1, percent: 25 },
    ]);
    expect(shares({})).toEqual([]);
  });
});
