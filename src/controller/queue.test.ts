import { describe, expect, it } from 'vitest';
import { WorkQueue } from './queue.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkQueue', () => {
  it('never runs one key twice at once, and re-runs a key added while it ran', async () => {
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const queue = new WorkQueue(
      async (key) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs.push(key);
        if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
        running -= 1;
      },
      { concurrency: 4 },
    );
    queue.add('a');
    await tick();
    queue.add('a');
    queue.add('a');
    release();
    await queue.idle();
    expect(runs).toEqual(['a', 'a']);
    expect(maxRunning).toBe(1);
  });

  it('bounds concurrency across keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const queue = new WorkQueue(
      async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i += 1) queue.add(`k${i}`);
    await queue.idle();
    expect(maxRunning).toBe(3);
  });

  it('retries a failing key with backoff and reports each failure', async () => {
    const errors: number[] = [];
    let calls = 0;
    const queue = new WorkQueue(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('boom');
      },
      { concurrency: 1, baseBackoffMs: 1, onError: (_key, _error, attempt) => errors.push(attempt) },
    );
    queue.add('x');
    for (let i = 0; i < 50 && calls < 3; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await queue.idle();
    expect(calls).toBe(3);
    expect(errors).toEqual([1, 2]);
  });

  it('finishes in-flight work on shutdown and takes no more', async () => {
    const done: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        done.push(key);
      },
      { concurrency: 1 },
    );
    queue.add('a');
    queue.add('b');
    await tick();
    await queue.shutdown();
    queue.add('c');
    await queue.idle();
    expect(done).toEqual(['a']);
  });
});

describe('WorkQueue backoff', () => {
  it('folds adds during a failure backoff into the retry', async () => {
    let calls = 0;
    const queue = new WorkQueue(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
      { concurrency: 1, baseBackoffMs: 50 },
    );
    queue.add('x');
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 10; i += 1) queue.add('x');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await queue.idle();
    expect(calls).toBe(2);
  });

  describe('lanes', () => {
    /** A queue with one worker that holds each key until released, recording the order. */
    function held() {
      const order: string[] = [];
      const releases: (() => void)[] = [];
      const queue = new WorkQueue(
        async (key) => {
          order.push(key);
          await new Promise<void>((resolve) => releases.push(resolve));
        },
        { concurrency: 1 },
      );
      const releaseAll = async () => {
        while (releases.length || queue.depth || queue.active) {
          releases.shift()?.();
          await tick();
        }
      };
      return { queue, order, releaseAll };
    }

    it('serves the background lane only while no foreground key waits', async () => {
      const { queue, order, releaseAll } = held();
      for (const key of ['r1', 'r2', 'r3']) queue.add(key, 'background');
      queue.add('event1');
      queue.add('event2');
      expect(queue.depth).toBe(4); // r1 runs: the queue was empty when it came
      expect(queue.backgroundDepth).toBe(2);
      await releaseAll();
      expect(order).toEqual(['r1', 'event1', 'event2', 'r2', 'r3']);
      expect(queue.backgroundDepth).toBe(0);
    });

    it('moves a background key forward when a foreground add comes for it, and runs it once', async () => {
      const { queue, order, releaseAll } = held();
      queue.add('busy');
      for (const key of ['r1', 'r2', 'r3']) queue.add(key, 'background');
      queue.add('r3');
      queue.add('r3', 'background'); // already waiting in front: stays there
      expect(queue.depth).toBe(3);
      expect(queue.backgroundDepth).toBe(2);
      await releaseAll();
      expect(order).toEqual(['busy', 'r3', 'r1', 'r2']);
    });

    it('folds a resync into the reconcile under way, but re-runs a key an event comes for', async () => {
      const { queue, order, releaseAll } = held();
      queue.add('a');
      await tick();
      queue.add('a', 'background');
      expect(queue.depth).toBe(0);
      queue.add('a');
      await releaseAll();
      expect(order).toEqual(['a', 'a']);
    });

    it('keeps a background key queued again after it ran, and counts it once', async () => {
      const { queue, order, releaseAll } = held();
      queue.add('busy');
      queue.add('r', 'background');
      queue.add('r'); // forward: the background entry is now stale
      await releaseAll();
      queue.add('busy2');
      queue.add('r', 'background');
      expect(queue.backgroundDepth).toBe(1);
      await releaseAll();
      expect(order).toEqual(['busy', 'r', 'busy2', 'r']);
      expect(queue.depth).toBe(0);
      expect(queue.backgroundDepth).toBe(0);
    });

    it('keeps order across a deep queue (10 000 keys in each lane)', async () => {
      const seen: string[] = [];
      const queue = new WorkQueue(
        async (key) => {
          seen.push(key);
        },
        { concurrency: 8 },
      );
      for (let i = 0; i < 10_000; i += 1) queue.add(`bg${i}`, 'background');
      for (let i = 0; i < 10_000; i += 1) queue.add(`fg${i}`);
      await queue.idle();
      expect(seen).toHaveLength(20_000);
      // The first 8 background keys started before any foreground key came.
      const firstForeground = seen.findIndex((key) => key.startsWith('fg'));
      expect(firstForeground).toBe(8);
      expect(seen.slice(8, 10_008).every((key) => key.startsWith('fg'))).toBe(true);
      expect(seen.slice(10_008)).toEqual(Array.from({ length: 9992 }, (_, i) => `bg${i + 8}`));
    });
  });
});
