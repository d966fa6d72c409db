import { describe, expect, it } from 'vitest';
import { durationMs, formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2m30s', 150_000],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 's', '1x', '1m 30s', '-1s', '1m30'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('names the field in its error', () => {
    expect(() => durationMs('soon', 'spec.analysis.interval')).toThrow(
      'spec.analysis.interval: "soon" is not a duration; expected e.g. 30s, 1m, 1h30m',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
