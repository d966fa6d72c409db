import { describe, expect, it } from 'vitest';
import { Coalescer, type CoalescerTimers } from './coalesce.ts';

/** Timers driven by hand: `advance(ms)` runs what is due. */
function manualTimers() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const api: CoalescerTimers = {
    setTimeout: (fn, ms) => {
      const id = (next += 1);
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (let due = timers.filter((t) => t.at <= now); due.length; due = timers.filter((t) => t.at <= now)) {
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    }
  };
  return { api, advance, pending: () => timers.length };
}

describe('Coalescer', () => {
  it('fires the first event at once and a burst behind it once, at the end of the window', () => {
    const timers = manualTimers();
    const fired: string[] = [];
    const wake = new Coalescer(1000, (key, why) => fired.push(`${key}:${why}`), timers.api);
    wake.add('a', 'e1');
    expect(fired).toEqual(['a:e1']);
    wake.add('a', 'e2');
    wake.add('a', 'e3');
    timers.advance(999);
    expect(fired).toEqual(['a:e1']);
    timers.advance(1);
    expect(fired).toEqual(['a:e1', 'a:e3']);
    timers.advance(1000);
    expect(fired).toEqual(['a:e1', 'a:e3']);
    expect(timers.pending()).toBe(0);
  });

  it('fires an isolated event once, and keys do not hold each other up', () => {
    const timers = manualTimers();
    const fired: string[] = [];
    const wake = new Coalescer(1000, (key) => fired.push(key), timers.api);
    wake.add('a', 'x');
    wake.add('b', 'x');
    timers.advance(5000);
    expect(fired).toEqual(['a', 'b']);
  });

  it('under a steady stream fires at most once per window', () => {
    const timers = manualTimers();
    let fired = 0;
    const wake = new Coalescer(1000, () => (fired += 1), timers.api);
    for (let t = 0; t < 10_000; t += 100) {
      wake.add('a', 'x');
      timers.advance(100);
    }
    expect(fired).toBeLessThanOrEqual(11);
    expect(fired).toBeGreaterThanOrEqual(10);
  });

  it('passes everything through without a window, and stop drops what is pending', () => {
    const timers = manualTimers();
    const fired: string[] = [];
    const direct = new Coalescer(0, (key) => fired.push(key), timers.api);
    direct.add('a', 'x');
    direct.add('a', 'x');
    expect(fired).toEqual(['a', 'a']);
    const wake = new Coalescer(1000, (key) => fired.push(key), timers.api);
    wake.add('b', 'x');
    wake.add('b', 'x');
    wake.stop();
    timers.advance(2000);
    expect(fired).toEqual(['a', 'a', 'b']);
  });
});
