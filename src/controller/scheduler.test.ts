import { describe, expect, it } from 'vitest';
import { TickScheduler, type Clock } from './scheduler.ts';

/** A clock whose time moves only when the test says so. */
function fakeClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock & { advance(ms: number): void; armed(): number } = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return { id } as unknown as { unref?: () => void };
    },
    clearTimeout(handle) {
      timers.delete((handle as { id: number }).id);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    armed: () => timers.size,
  };
  return clock;
}

describe('TickScheduler', () => {
  it('fires keys in time order with a single armed timer', () => {
    const clock = fakeClock();
    const fired: string[] = [];
    const scheduler = new TickScheduler((key) => fired.push(key), clock);
    scheduler.schedule('c', 300);
    scheduler.schedule('a', 100);
    scheduler.schedule('b', 200);
    expect(clock.armed()).toBe(1);
    clock.advance(150);
    expect(fired).toEqual(['a']);
    clock.advance(200);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(scheduler.size).toBe(0);
  });

  it('replaces an earlier schedule of the same key', () => {
    const clock = fakeClock();
    const fired: [string, number][] = [];
    const scheduler = new TickScheduler((key, at) => fired.push([key, at]), clock);
    scheduler.schedule('a', 100);
    scheduler.schedule('a', 500);
    clock.advance(1000);
    expect(fired).toEqual([['a', 500]]);
  });

  it('can move a key earlier and cancel it', () => {
    const clock = fakeClock();
    const fired: string[] = [];
    const scheduler = new TickScheduler((key) => fired.push(key), clock);
    scheduler.schedule('a', 500);
    scheduler.schedule('a', 50);
    scheduler.schedule('b', 60);
    scheduler.cancel('b');
    clock.advance(100);
    expect(fired).toEqual(['a']);
    clock.advance(1000);
    expect(fired).toEqual(['a']);
  });

  it('keeps order for many keys', () => {
    const clock = fakeClock();
    const fired: number[] = [];
    const scheduler = new TickScheduler((key) => fired.push(Number(key)), clock);
    const times = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    for (const t of times) scheduler.schedule(String(t), t + 1);
    clock.advance(2000);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
    expect(fired).toHaveLength(1000);
  });
});
