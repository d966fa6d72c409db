import { describe, expect, it } from 'vitest';
import { record, rolloutOutcome, stateOf, stepLags, type Timeline } from './timeline.ts';

const s = (at: number, phase: string, weight = 0, failedChecks = 0) => ({ at, phase, weight, failedChecks });

describe('record', () => {
  it('keeps only changes of phase, weight or failed checks', () => {
    const timeline: Timeline = [];
    expect(record(timeline, s(0, 'Progressing'))).toBe(true);
    expect(record(timeline, s(1, 'Progressing'))).toBe(false);
    expect(record(timeline, s(2, 'Progressing', 10))).toBe(true);
    expect(record(timeline, s(3, 'Progressing', 10, 1))).toBe(true);
    expect(record(timeline, { ...s(4, 'Progressing', 10, 1), message: 'waiting' })).toBe(true);
    expect(timeline.map((x) => x.at)).toEqual([0, 2, 3, 4]);
  });

  it('reads the status fields both controllers write', () => {
    expect(stateOf({ status: { phase: 'Progressing', canaryWeight: 20, failedChecks: 1 } }, 5)).toEqual(
      s(5, 'Progressing', 20, 1),
    );
    expect(stateOf({}, 5)).toEqual(s(5, ''));
  });
});

describe('rolloutOutcome', () => {
  const timeline = [
    s(0, 'Succeeded'),
    s(100, 'Progressing'),
    s(200, 'Progressing', 10),
    s(300, 'Promoting', 10),
    s(400, 'Finalising', 0),
    s(500, 'Succeeded', 0),
  ];

  it('ends at the first terminal phase after the canary became active', () => {
    expect(rolloutOutcome(timeline, 50)).toEqual({ result: 'Succeeded', endedAt: 500, steps: 5 });
  });

  it('does not take a terminal phase left from before the revision for the end', () => {
    expect(rolloutOutcome(timeline.slice(0, 3), 0)).toEqual({
      result: undefined,
      endedAt: undefined,
      steps: 3,
    });
  });

  it('reports a rollback as Failed', () => {
    expect(rolloutOutcome([s(0, 'Initialized'), s(10, 'Progressing'), s(20, 'Failed')], 5).result).toBe(
      'Failed',
    );
  });
});

describe('stepLags', () => {
  it('measures each gap between weight increases against the interval', () => {
    const timeline = [
      s(0, 'Initialized'),
      s(500, 'Progressing'),
      s(10_100, 'Progressing', 10),
      s(20_150, 'Progressing', 20),
      s(20_200, 'Progressing', 20, 1),
      s(30_100, 'Progressing', 30),
      s(40_100, 'Promoting', 30),
    ];
    expect(stepLags(timeline, 0, 10_000)).toEqual([50, -50]);
  });

  it('ignores increases before the revision and outside Progressing', () => {
    const timeline = [s(0, 'Progressing', 10), s(10_000, 'Progressing', 20), s(30_000, 'Progressing', 30)];
    expect(stepLags(timeline, 5_000, 10_000)).toEqual([10_000]);
    expect(stepLags([s(0, 'Promoting', 10), s(10_000, 'Finalising', 20)], 0, 10_000)).toEqual([]);
  });
});
