import { describe, expect, it } from 'vitest';
import { CanaryAnalysis } from '../api/canary.ts';
import { CanaryStatus } from '../api/status.ts';
import {
  canWait,
  MachineSnapshotError,
  parseSnapshot,
  step,
  stepAll,
  type PersistedMachine,
  type StepResult,
} from './driver.ts';
import { planFromSpec, type Plan } from './plan.ts';
import { Simulation } from '../../test/support/simulate.ts';
import type { Observation } from './types.ts';

const METRICS = [{ name: 'request-success-rate' }];
const T0 = Date.UTC(2025, 0, 1);

function plan(analysis: object, extra: { suspend?: boolean; skipAnalysis?: boolean } = {}): Plan {
  return planFromSpec({ analysis: CanaryAnalysis.parse(analysis), progressDeadlineSeconds: 300, ...extra });
}

/** A full run of a canary with gates, failures and a restart, as recorded observations. */
function recordedRun(): { plan: Plan; observations: Observation[] } {
  const p = plan({
    stepWeight: 25,
    threshold: 3,
    metrics: METRICS,
    webhooks: [
      { name: 'gate', type: 'confirm-traffic-increase', url: 'http://gate.test' },
      { name: 'load', type: 'rollout', url: 'http://load.test' },
    ],
  });
  const sim = new Simulation(p, {
    now: T0,
    world: { analysis: ['passed', 'failed', 'passed', 'noData', 'passed'] },
  });
  sim.initialize('rev-1');
  sim.observe({ type: 'REVISION', revision: 'rev-2' });
  sim.tick();
  sim.tick();
  sim.observe({ type: 'REVISION', revision: 'rev-3' });
  sim.tickUntil(['Succeeded', 'Failed']);
  expect(sim.phase).toBe('Succeeded');
  return { plan: p, observations: sim.log.map((entry) => entry.observation) };
}

/** Runs observations through the driver, persisting (through JSON) before every one. */
function eventByEvent(p: Plan, observations: Observation[]): { last: StepResult; issued: number[] } {
  let snapshot: unknown;
  let last: StepResult | undefined;
  const issued: number[] = [];
  for (const observation of observations) {
    last = step(snapshot === undefined ? undefined : JSON.parse(JSON.stringify(snapshot)), p, observation);
    snapshot = last.snapshot;
    issued.push(...last.issued.map((effect) => effect.id));
  }
  return { last: last!, issued };
}

describe('driver: persistence and resume', () => {
  it('persisting before every event gives the same outcome as running straight through', () => {
    const { plan: p, observations } = recordedRun();
    const straight = stepAll(undefined, p, observations);
    const restored = eventByEvent(p, observations);
    expect(restored.last.snapshot).toEqual(straight.snapshot);
    expect(restored.last.effects).toEqual(straight.effects);
    expect(restored.issued).toEqual(Array.from({ length: straight.snapshot.context.seq }, (_, i) => i + 1));
    expect(restored.last.status).toEqual(straight.status);
    // Restoring halfway, from a snapshot that went through JSON, and finishing in one go.
    const half = Math.floor(observations.length / 2);
    const first = stepAll(undefined, p, observations.slice(0, half));
    const second = stepAll(JSON.parse(JSON.stringify(first.snapshot)), p, observations.slice(half));
    expect(second.snapshot).toEqual(straight.snapshot);
  });

  it('re-issues effects that were requested but never confirmed, with the same ids', () => {
    const p = plan({ stepWeight: 20, metrics: METRICS });
    const sim = new Simulation(p, { now: T0 });
    sim.initialize('rev-1');
    sim.observe({ type: 'REVISION', revision: 'rev-2' });
    sim.world.confirmEffects = false;
    const ticked = sim.tick();
    // The controller crashed after the tick: routes 80/20 requested, never confirmed.
    const requested = ticked.effects.filter((effect) => effect.kind === 'setRoutes');
    expect(requested).toEqual([
      expect.objectContaining({
        kind: 'setRoutes',
        primaryWeight: 80,
        canaryWeight: 20,
        mirror: false,
        match: false,
      }),
    ]);
    const afterRestart = step(JSON.parse(JSON.stringify(sim.snapshot)), p, {
      type: 'TICK',
      now: sim.now + 1,
    });
    expect(afterRestart.effects).toEqual(ticked.effects);
    expect(afterRestart.issued).toEqual([]);
    // Carrying it out twice is harmless: the request is absolute, and confirming twice is a no-op.
    const id = requested[0]!.id;
    const once = step(afterRestart.snapshot, p, { type: 'EFFECT_DONE', now: sim.now + 2, effectId: id });
    const twice = step(once.snapshot, p, { type: 'EFFECT_DONE', now: sim.now + 3, effectId: id });
    expect(twice.effects).toEqual(once.effects);
    expect(twice.snapshot.context).toEqual(once.snapshot.context);
    expect(once.effects.some((effect) => effect.id === id)).toBe(false);
  });

  it('a tick replayed after a crash does not advance twice', () => {
    const p = plan({ stepWeight: 20, metrics: METRICS });
    const sim = new Simulation(p, { now: T0 });
    sim.initialize('rev-1');
    sim.observe({ type: 'REVISION', revision: 'rev-2' });
    sim.tick();
    sim.tick();
    const weight = sim.last!.status.canaryWeight;
    const replay = step(sim.snapshot, p, { type: 'TICK', now: sim.now });
    expect(replay.status.canaryWeight).toBe(weight);
    expect(replay.issued).toEqual([]);
  });

  it('is deterministic: the same snapshot and observation give the same result', () => {
    const { plan: p, observations } = recordedRun();
    const middle = stepAll(undefined, p, observations.slice(0, 20));
    const next = observations[20]!;
    expect(step(middle.snapshot, p, next)).toEqual(step(middle.snapshot, p, next));
  });

  it('keeps the snapshot small and free of spec copies', () => {
    const { plan: p, observations } = recordedRun();
    const result = stepAll(undefined, p, observations);
    const json = JSON.stringify(result.snapshot);
    expect(json.length).toBeLessThan(2048);
    expect(json).not.toContain('http://');
    expect(json).not.toContain('request-success-rate');
    expect(() => CanaryStatus.parse({ machine: result.snapshot, ...result.status })).not.toThrow();
  });

  it('derives status, the next step time and deadlines', () => {
    const p = plan({ stepWeight: 50, metrics: METRICS });
    const sim = new Simulation(p, { now: T0 });
    sim.initialize('rev-1');
    const started = sim.observe({ type: 'REVISION', revision: 'rev-2' });
    expect(started.status).toMatchObject({
      phase: 'Progressing',
      canaryWeight: 0,
      lastAppliedSpec: 'rev-2',
      lastPromotedSpec: 'rev-1',
      lastTransitionTime: new Date(T0).toISOString(),
      nextStepAt: new Date(T0 + 60_000).toISOString(),
      // Scaled up at T0 and not ready yet: rolled back at T0 + 300s unless it gets ready.
      deadlines: { canaryReady: new Date(T0 + 300_000).toISOString() },
    });
    expect(started.wakeAt).toBe(T0 + 60_000);
    const ticked = sim.tick();
    expect(ticked.status.deadlines).toBeUndefined();
    expect(ticked.status).toMatchObject({ canaryWeight: 50, message: 'advance canary weight 50' });
  });

  it('notices a changed spec by itself (suspend)', () => {
    const p = plan({ stepWeight: 50 });
    const first = step(undefined, p, { type: 'REVISION', now: T0, revision: 'rev-1' });
    const suspended = step(first.snapshot, plan({ stepWeight: 50 }, { suspend: true }), {
      type: 'TICK',
      now: T0 + 1,
    });
    expect(suspended.snapshot.value).toBe('suspended');
    expect(suspended.status.phase).toBe('Initializing');
    expect(suspended.wakeAt).toBeNull();
  });

  it('rejects a snapshot it cannot resume from, naming the field', () => {
    const { snapshot } = step(undefined, plan({ stepWeight: 50 }), {
      type: 'REVISION',
      now: T0,
      revision: 'rev-1',
    });
    const badField = { ...snapshot, context: { ...snapshot.context, failedChecks: 'two' } };
    expect(() => parseSnapshot(badField)).toThrow(MachineSnapshotError);
    expect(() => parseSnapshot(badField)).toThrow(/^status\.machine\.context\.failedChecks: /);
    expect(() => parseSnapshot({ ...snapshot, value: { active: 'dancing' } })).toThrow(
      /^status\.machine\.value: /,
    );
    expect(() => step({ nonsense: true }, plan({ stepWeight: 50 }), { type: 'TICK', now: T0 })).toThrow(
      /^status\.machine\.status: /,
    );
    expect(() => stepAll(undefined, plan({ stepWeight: 50 }), [])).toThrow(/at least one observation/);
  });
});

describe('snapshots stored through a JSON merge patch', () => {
  // Merge patch null means "delete the key": the stored snapshot comes back without nulls.
  const dropNulls = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(dropNulls)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .filter(([, v]) => v !== null)
              .map(([k, v]) => [k, dropNulls(v)]),
          )
        : value;

  it('restore with their null fields dropped and continue exactly as straight through', () => {
    const { plan: p, observations } = recordedRun();
    let straight: StepResult | undefined;
    let stored: StepResult | undefined;
    for (const observation of observations) {
      straight = step(straight?.snapshot, p, observation);
      stored = step(stored === undefined ? undefined : dropNulls(stored.snapshot), p, observation);
      expect(stored.snapshot).toEqual(straight.snapshot);
    }
    expect(JSON.stringify(dropNulls(stored!.snapshot))).not.toContain('null');
  });
});

describe('canWait: a status change nobody acts on', () => {
  /** The snapshot of a canary progressing with its canary not ready yet, and a variant of it. */
  function waitingForCanary() {
    const sim = new Simulation(plan({ stepWeight: 25, metrics: METRICS }), { now: T0 });
    sim.initialize('rev-1');
    sim.world.canary = 'notReady';
    sim.observe({ type: 'REVISION', revision: 'rev-2' });
    sim.tick();
    const before = sim.last!.snapshot;
    const changed = (change: (context: PersistedMachine['context']) => void): PersistedMachine => {
      const after = structuredClone(before);
      change(after.context);
      return after;
    };
    return { sim, before, changed };
  }

  it('holds back the canary or primary turning ready, with its deadline going away', () => {
    const { before, changed } = waitingForCanary();
    expect(before.context.canary.ready).toBe(false);
    const ready = changed((c) => (c.canary = { ready: true, since: null, unreadyMs: 994 }));
    expect(canWait(before, ready)).toBe(true);
    const notReadyPrimary = changed((c) => (c.primary = { ready: false, since: T0, unreadyMs: 0 }));
    const primaryReady = structuredClone(notReadyPrimary);
    primaryReady.context.primary = { ready: true, since: null, unreadyMs: 1013 };
    expect(canWait(notReadyPrimary, primaryReady)).toBe(true);
  });

  it('writes at once a workload turning unready, a new deadline, or anything else', () => {
    const { before, changed } = waitingForCanary();
    const ready = changed((c) => (c.canary = { ready: true, since: null, unreadyMs: 0 }));
    expect(canWait(ready, before)).toBe(false);
    expect(
      canWait(
        before,
        changed((c) => (c.canary.since = T0 + 1)),
      ),
    ).toBe(false);
    expect(
      canWait(
        before,
        changed((c) => (c.message = 'advance canary weight 25')),
      ),
    ).toBe(false);
    expect(
      canWait(
        before,
        changed((c) => (c.routes = { ...c.routes, canaryWeight: 25 })),
      ),
    ).toBe(false);
    expect(canWait(before, { ...before, value: { active: 'waiting' } })).toBe(false);
    expect(stepAll(undefined, plan({ stepWeight: 25 }), [{ type: 'TICK', now: T0 }]).happened.canWait).toBe(
      false,
    );
  });

  it('matches the machine: a second tick waiting for the canary can wait, the one that moves traffic cannot', () => {
    const { sim, before: firstWait } = waitingForCanary();
    expect(sim.last!.status.message).toBe('waiting for the canary to become ready');
    sim.tick();
    const secondWait = sim.last!.snapshot;
    expect(canWait(firstWait, secondWait)).toBe(true);

    sim.world.canary = 'ready';
    sim.observe({ type: 'READINESS', canary: 'ready', primary: 'ready' });
    const ready = sim.last!.snapshot;
    expect(sim.last!.happened.canWait).toBe(true);
    expect(canWait(secondWait, ready)).toBe(true);
    sim.tick();
    expect(sim.last!.status.canaryWeight).toBe(25);
    expect(canWait(ready, sim.last!.snapshot)).toBe(false);
  });
});
