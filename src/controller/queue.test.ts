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
});
