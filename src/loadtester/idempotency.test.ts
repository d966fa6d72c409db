import { describe, expect, it } from 'vitest';
import { RecentAnswers } from './idempotency.ts';

describe('RecentAnswers', () => {
  const keepAll = () => true;

  it('runs once per key and gives a repeat the first answer, also while the first is running', async () => {
    const answers = new RecentAnswers<string>();
    let runs = 0;
    let release: () => void = () => undefined;
    const run = () =>
      new Promise<string>((resolve) => {
        runs += 1;
        release = () => resolve(`answer ${runs}`);
      });
    const first = answers.once('k', run, keepAll);
    const repeat = answers.once('k', run, keepAll);
    release();
    expect(await first).toEqual({ answer: 'answer 1', repeat: false });
    expect(await repeat).toEqual({ answer: 'answer 1', repeat: true });
    expect(await answers.once('k', run, keepAll)).toEqual({ answer: 'answer 1', repeat: true });
    expect(runs).toBe(1);
  });

  it('forgets an answer it is told not to keep, and a failure, so a retry runs', async () => {
    const answers = new RecentAnswers<number>();
    let runs = 0;
    const status = async () => {
      runs += 1;
      return runs === 1 ? 500 : 202;
    };
    const keep = (s: number) => s < 500;
    expect((await answers.once('k', status, keep)).answer).toBe(500);
    expect(await answers.once('k', status, keep)).toEqual({ answer: 202, repeat: false });
    await expect(answers.once('boom', () => Promise.reject(new Error('no')), keep)).rejects.toThrow('no');
    expect(await answers.once('boom', status, keep)).toEqual({ answer: 202, repeat: false });
    expect(answers.size).toBe(2);
  });

  it('is bounded in count (oldest first) and in time', async () => {
    let clock = 0;
    const answers = new RecentAnswers<string>({ max: 2, ttlMs: 1000, now: () => clock });
    const run = (value: string) => async () => value;
    await answers.once('a', run('a'), keepAll);
    await answers.once('b', run('b'), keepAll);
    await answers.once('c', run('c'), keepAll);
    expect(answers.size).toBe(2);
    expect(await answers.once('a', run('a again'), keepAll)).toEqual({ answer: 'a again', repeat: false });
    clock = 1000;
    expect(await answers.once('c', run('c again'), keepAll)).toEqual({ answer: 'c again', repeat: false });
    expect(answers.size).toBe(1);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new RecentAnswers({ max: 0 })).toThrow('max must be a positive integer, got 0');
  });
});
