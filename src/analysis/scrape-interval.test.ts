import { describe, expect, it } from 'vitest';
import {
  PROMETHEUS_DEFAULT_SCRAPE_MS,
  SCRAPE_INTERVAL_TTL_MS,
  scrapeIntervalOf,
  scrapeIntervalSource,
} from './scrape-interval.ts';

describe('scrapeIntervalOf', () => {
  it("reads the global scrape_interval of Prometheus' configuration, or Prometheus' default", () => {
    expect(scrapeIntervalOf('global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n')).toBe(15_000);
    expect(scrapeIntervalOf('global:\n  scrape_interval: 1m30s\n')).toBe(90_000);
    expect(scrapeIntervalOf('scrape_configs: []\n')).toBe(PROMETHEUS_DEFAULT_SCRAPE_MS);
    expect(() => scrapeIntervalOf('global:\n  scrape_interval: 1d\n')).toThrow(
      'global.scrape_interval: "1d" is not a duration Sluice reads',
    );
  });
});

describe('scrapeIntervalSource', () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('answers undefined until the first read, then the value; reads again after the TTL', async () => {
    const clock = { now: 0 };
    const answers = [5000, 15_000];
    let reads = 0;
    const source = scrapeIntervalSource({
      fetch: async () => answers[reads++]!,
      now: () => clock.now,
      onError: () => undefined,
    });
    expect(source()).toBeUndefined();
    await settle();
    expect(source()).toBe(5000);
    clock.now = SCRAPE_INTERVAL_TTL_MS - 1;
    expect(source()).toBe(5000);
    expect(reads).toBe(1);
    clock.now = SCRAPE_INTERVAL_TTL_MS;
    source();
    await settle();
    expect(source()).toBe(15_000);
    expect(reads).toBe(2);
  });

  it('tells a failure once per streak, keeps the last value and tries again later', async () => {
    const clock = { now: 0 };
    const errors: unknown[] = [];
    let fail = true;
    let reads = 0;
    const source = scrapeIntervalSource({
      fetch: async () => {
        reads += 1;
        if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:9090');
        return 2000;
      },
      now: () => clock.now,
      onError: (error) => errors.push(error),
    });
    source();
    await settle();
    expect(source()).toBeUndefined();
    clock.now = 30_000;
    source();
    await settle();
    expect(reads).toBe(2);
    expect(errors).toHaveLength(1);
    fail = false;
    clock.now = 60_000;
    source();
    await settle();
    expect(source()).toBe(2000);
  });
});
