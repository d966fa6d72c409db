import { describe, expect, it } from 'vitest';
import {
  compareFigures,
  formatNumber,
  keyValueLine,
  medianFigures,
  parseKeyValueLine,
  rowsOf,
  table,
  timestamp,
} from './report.ts';

describe('key=value line', () => {
  it('starts with the bench name, then labels, then figures with at most three decimals', () => {
    expect(
      keyValueLine('scale', { n: 1000 }, { tick_lag_p99_ms: 12.34567, rss_mb: 250, cpu_s: Number.NaN }),
    ).toBe('scale n=1000 tick_lag_p99_ms=12.346 rss_mb=250 cpu_s=na');
  });

  it('round-trips through the parser scripts use', () => {
    const line = keyValueLine('idle', { n: 100 }, { rss_mb: 80.5, cpu_pct: 0.25 });
    expect(parseKeyValueLine(line)).toEqual({
      bench: 'idle',
      values: { n: '100', rss_mb: '80.5', cpu_pct: '0.25' },
    });
    expect(() => parseKeyValueLine('scale n')).toThrow(/key=value/);
  });

  it('adds Flagger figures prefixed flagger_ and Sluice/Flagger ratios', () => {
    const figures = compareFigures(
      { rss_mb: 100, cpu_s: 3, failed: 0, only_sluice: 1 },
      { rss_mb: 50, cpu_s: 0, failed: 0 },
    );
    expect(figures).toEqual({
      rss_mb: 100,
      cpu_s: 3,
      failed: 0,
      only_sluice: 1,
      flagger_rss_mb: 50,
      flagger_cpu_s: 0,
      flagger_failed: 0,
      rss_mb_ratio: 2,
      cpu_s_ratio: Number.NaN,
      failed_ratio: 1,
    });
    expect(compareFigures({ a: 1 })).toEqual({ a: 1 });
  });

  it('formats numbers without noise', () => {
    expect(formatNumber(-0.0001)).toBe('0');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('na');
    expect(formatNumber(1 / 3)).toBe('0.333');
  });
});

describe('table', () => {
  it('aligns figures and adds Flagger and the ratio when there are Flagger figures', () => {
    const text = table('title', rowsOf({ rss_mb: 100, steps: 8 }, { rss_mb: 50 }));
    expect(text.split('\n')).toEqual([
      'title',
      'figure  sluice  flagger  sluice/flagger',
      '------  ------  -------  --------------',
      'rss_mb     100       50               2',
      'steps        8       na              na',
    ]);
    expect(table('t', rowsOf({ a: 1 })).split('\n')[1]).toBe('figure  sluice');
  });
});

describe('medianFigures', () => {
  it('takes the median of each figure over rounds, skipping NaN and missing ones', () => {
    expect(medianFigures([{ a: 1, b: Number.NaN }, { a: 3, b: 2 }, { a: 2 }])).toEqual({ a: 2, b: 2 });
    expect(medianFigures([{ a: Number.NaN }]).a).toBeNaN();
  });
});

describe('timestamp', () => {
  it('is safe in file names', () => {
    expect(timestamp(new Date('2025-01-31T12:34:56.789Z'))).toBe('2025-01-31T12-34-56Z');
  });
});
