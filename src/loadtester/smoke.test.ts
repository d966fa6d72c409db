import { describe, expect, it } from 'vitest';
import { parseSmokeSpec, runSmoke } from './smoke.ts';

describe('smoke', () => {
  it('defaults to 10 requests', () => {
    expect(parseSmokeSpec({ url: 'http://podinfo-canary.test:9898/healthz' })).toEqual({
      url: 'http://podinfo-canary.test:9898/healthz',
      requests: 10,
      timeoutMs: 10_000,
    });
  });

  it('passes when every request answers 2xx', async () => {
    const result = await runSmoke({ url: 'http://a.test/', requests: 3, timeoutMs: 100 }, async () => 204);
    expect(result).toEqual({
      ok: true,
      summary: 'smoke test passed: 3/3 requests to http://a.test/ succeeded (3× 204)',
    });
  });

  it('fails with a summary of what went wrong', async () => {
    let n = 0;
    const result = await runSmoke({ url: 'http://a.test/', requests: 4, timeoutMs: 100 }, async () => {
      n += 1;
      if (n === 4) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      return n === 1 ? 200 : 503;
    });
    expect(result).toEqual({
      ok: false,
      summary: 'smoke test failed: 1/4 requests to http://a.test/ succeeded (1× 200, 2× 503, 1× ECONNRESET)',
    });
  });
});
