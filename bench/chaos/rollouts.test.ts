import { describe, expect, it } from 'vitest';
import { roundsWhile } from './rollouts.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('roundsWhile', () => {
  it('runs a round at a time while the faults go on, at least one, then waits for the faults', async () => {
    const started: number[] = [];
    const fleet = {
      round: async (n: number) => {
        started.push(n);
        await sleep(20);
        return [];
      },
    };
    let faultsDone = false;
    const faults = sleep(50).then(() => {
      faultsDone = true;
    });
    const rounds = await roundsWhile(fleet, faults, { deadline: Date.now() + 10_000, roundTimeoutMs: 1 });
    expect(faultsDone).toBe(true);
    expect(rounds).toBe(started.length);
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(rounds).toBeLessThanOrEqual(4);
    expect(await roundsWhile(fleet, Promise.resolve(), { deadline: 0, roundTimeoutMs: 1 })).toBe(1);
  });

  it('starts no round after the deadline, and passes each round’s results on', async () => {
    const seen: number[] = [];
    const fleet = { round: async () => (await sleep(10), []) };
    const rounds = await roundsWhile(fleet, sleep(200), {
      deadline: Date.now() + 25,
      roundTimeoutMs: 1,
      afterRound: (round) => seen.push(round),
    });
    expect(rounds).toBeLessThanOrEqual(4);
    expect(seen).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
  });
});
