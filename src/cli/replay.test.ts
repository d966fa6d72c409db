import { describe, expect, it } from 'vitest';
import { exitCodeOf, outcomeLine, parseInstant } from './replay.ts';

describe('sluice replay flags and outcome', () => {
  const now = Date.UTC(2025, 0, 31, 12);

  it('reads RFC 3339, Unix seconds, now and now-<duration>', () => {
    expect(parseInstant('2025-01-31T10:00:00Z', '--from', now)).toBe(Date.UTC(2025, 0, 31, 10));
    expect(parseInstant('1738317600', '--from', now)).toBe(Date.UTC(2025, 0, 31, 10));
    expect(parseInstant('now', '--to', now)).toBe(now);
    expect(parseInstant('now-2h', '--from', now)).toBe(Date.UTC(2025, 0, 31, 10));
  });

  it('names the flag of a time it cannot read', () => {
    expect(() => parseInstant('yesterday', '--from', now)).toThrow(
      '--from: "yesterday" is not a time; expected RFC 3339 (2025-01-31T12:00:00Z), Unix seconds, or now-2h',
    );
  });

  it('says what would have happened, with the exit code a script reads', () => {
    const base = { steps: [], elapsedMs: 90_000, at: now + 90_000, reason: 'why' };
    expect(outcomeLine({ ...base, result: 'rollback' }, now)).toBe(
      'would roll back at 2025-01-31T12:01:30Z (1m30s after the start): why',
    );
    expect(exitCodeOf({ ...base, result: 'promote' })).toBe(0);
    expect(exitCodeOf({ ...base, result: 'rollback' })).toBe(1);
    expect(exitCodeOf({ ...base, result: 'undecided' })).toBe(2);
  });
});
