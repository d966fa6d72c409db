import { describe, expect, it } from 'vitest';
import { History, MAX_POINTS } from './history.ts';
import { mergeHistory, stepFor } from './prometheus.ts';

describe('dashboard history', () => {
  it('keeps a weight point per change and a metric point per new analysis', () => {
    const history = new History(0);
    const analysis = (value: number) => [{ name: 'rate', value, passed: value > 99 }];
    history.observe('ns/a', { canaryWeight: 0, lastAnalysis: [] }, 1);
    history.observe('ns/a', { canaryWeight: 20, lastAnalysis: analysis(100) }, 2);
    history.observe('ns/a', { canaryWeight: 20, lastAnalysis: analysis(100) }, 3);
    history.observe('ns/a', { canaryWeight: 40, lastAnalysis: analysis(98) }, 4);
    expect(history.weights('ns/a')).toEqual([
      { at: 1, weight: 0 },
      { at: 2, weight: 20 },
      { at: 4, weight: 40 },
    ]);
    expect(history.metrics('ns/a').rate).toEqual([
      { at: 2, value: 100, passed: true },
      { at: 4, value: 98, passed: false },
    ]);
    history.forget('ns/a');
    expect(history.weights('ns/a')).toEqual([]);
  });

  it('stays bounded per canary', () => {
    const history = new History(0);
    for (let i = 0; i < MAX_POINTS + 50; i += 1)
      history.observe('ns/a', { canaryWeight: i % 2 ? 10 : 20 }, i);
    expect(history.weights('ns/a')).toHaveLength(MAX_POINTS);
    expect(history.weights('ns/a')[0]!.at).toBe(50);
  });

  it('puts Prometheus points before what the server saw, never over it', () => {
    expect(mergeHistory([{ at: 1 }, { at: 5 }, { at: 9 }], [{ at: 6 }, { at: 10 }])).toEqual([
      { at: 1 },
      { at: 5 },
      { at: 6 },
      { at: 10 },
    ]);
    expect(stepFor(0, 60_000)).toBe(5);
    expect(stepFor(0, 3 * 3600_000)).toBe(27);
  });
});
