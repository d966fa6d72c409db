import { describe, expect, it } from 'vitest';
import { LOAD_DEFAULTS, parseLoadSpec, runLoad, TaskSpecError, type LoadSpec } from './load.ts';

const HOUR = 3_600_000;

describe('parseLoadSpec', () => {
  it('applies the defaults', () => {
    expect(parseLoadSpec({ url: 'http://podinfo-canary.test:9898/' }, HOUR)).toEqual({
      url: 'http://podinfo-canary.test:9898/',
      method: LOAD_DEFAULTS.method,
      headers: {},
      rps: 10,
      concurrency: 10,
      durationMs: 60_000,
      timeoutMs: 10_000,
    });
  });

  it('reads every key', () => {
    const spec = parseLoadSpec(
      {
        url: 'https://a.test/api',
        method: 'post',
        headers: '{"x-canary":"insider","content-type":"application/json"}',
        body: '{"q":1}',
        rps: '2.5',
        concurrency: '4',
        duration: '1m30s',
        timeout: '500ms',
      },
      HOUR,
    );
    expect(spec).toEqual({
      url: 'https://a.test/api',
      method: 'POST',
      headers: { 'x-canary': 'insider', 'content-type': 'application/json' },
      body: '{"q":1}',
      rps: 2.5,
      concurrency: 4,
      durationMs: 90_000,
      timeoutMs: 500,
    });
  });

  it.each([
    [{}, 'metadata.url is required'],
    [{ url: 'podinfo:9898' }, 'metadata.url: "podinfo:9898" is not an http(s) URL'],
    [{ url: 'http://a/', rps: 'fast' }, 'metadata.rps: "fast" is not a number'],
    [{ url: 'http://a/', rps: '0' }, 'metadata.rps'],
    [{ url: 'http://a/', concurrency: '2.5' }, 'metadata.concurrency: "2.5" is not a whole number'],
    [{ url: 'http://a/', duration: '10' }, 'metadata.duration: "10" is not a duration'],
    [
      { url: 'http://a/', duration: '2h' },
      'metadata.duration: 2h is longer than the load tester allows (1h)',
    ],
    [{ url: 'http://a/', headers: 'x-a: b' }, 'metadata.headers: not JSON'],
    [{ url: 'http://a/', headers: '{"a":1}' }, 'metadata.headers: expected a JSON object of string values'],
    [{ url: 'http://a/', body: 'x' }, 'metadata.body: a GET request has no body'],
  ])('refuses %j naming the key', (metadata, message) => {
    expect(() => parseLoadSpec(metadata as Record<string, string>, HOUR)).toThrow(TaskSpecError);
    expect(() => parseLoadSpec(metadata as Record<string, string>, HOUR)).toThrow(message);
  });
});

const spec = (overrides: Partial<LoadSpec>): LoadSpec => ({
  url: 'http://target.test/',
  method: 'GET',
  headers: {},
  rps: 100,
  concurrency: 10,
  durationMs: 10_000,
  timeoutMs: 1_000,
  ...overrides,
});

/** A clock that moves only when the generator sleeps. */
function virtualClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('runLoad', () => {
  it('sends rps × duration requests on a fixed schedule', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    const report = await runLoad(spec({ rps: 100, durationMs: 10_000 }), {
      ...clock,
      send: async () => {
        sentAt.push(clock.now());
        return 200;
      },
    });
    expect(report.requests).toBe(1_000);
    expect(report.dropped).toBe(0);
    expect(report.statusCounts).toEqual({ '200': 1_000 });
    // Request i leaves at i × 10 ms: the schedule is measured from the start, not from answers.
    expect(sentAt.every((at, i) => Math.abs(at - i * 10) < 1)).toBe(true);
    expect(report.achievedRps).toBeCloseTo(100, 0);
  });

  it('counts statuses and errors separately', async () => {
    const clock = virtualClock();
    let n = 0;
    const report = await runLoad(spec({ rps: 10, durationMs: 1_000 }), {
      ...clock,
      send: async () => {
        n += 1;
        if (n % 5 === 0)
          throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
        if (n % 5 === 1) {
          const timeout = new Error('The operation was aborted due to timeout');
          timeout.name = 'TimeoutError';
          throw timeout;
        }
        return n % 2 === 0 ? 200 : 503;
      },
    });
    expect(report.requests).toBe(10);
    expect(report.errors).toEqual({ ECONNREFUSED: 2, timeout: 2 });
    expect(report.statusCounts).toEqual({ '200': 3, '503': 3 });
  });

  it('never has more than `concurrency` requests in flight and counts what it dropped', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const report = await runLoad(spec({ rps: 100, durationMs: 300, concurrency: 3 }), {
      send: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight -= 1;
        return 200;
      },
    });
    expect(maxInFlight).toBe(3);
    expect(report.requests + report.dropped).toBe(30);
    expect(report.dropped).toBeGreaterThan(10);
    expect(report.latencyMs.p50).toBeGreaterThanOrEqual(95);
  });

  it('stops when aborted', async () => {
    const clock = virtualClock();
    const controller = new AbortController();
    const report = await runLoad(spec({ rps: 10, durationMs: 60_000 }), {
      ...clock,
      signal: controller.signal,
      send: async () => {
        if (clock.now() >= 1_000) controller.abort();
        return 200;
      },
    });
    expect(report.aborted).toBe(true);
    expect(report.requests).toBe(11);
  });
});
