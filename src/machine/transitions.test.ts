import { describe, expect, it } from 'vitest';
import { CanaryAnalysis } from '../api/canary.ts';
import { PRIMARY_ONLY } from '../api/routes.ts';
import { planFromSpec } from './plan.ts';
import { endRollout, type RolloutEnd } from './transitions.ts';
import { initialContext, type Context } from './types.ts';

// How a rollout ends (endRollout): what every end clears, and the differences between
// the four ends that are meant to be there.

const T0 = Date.parse('2026-01-01T00:00:00Z');
const plan = planFromSpec({
  analysis: CanaryAnalysis.parse({
    interval: '1m',
    threshold: 3,
    stepWeight: 10,
    maxWeight: 50,
    webhooks: [{ name: 'after', type: 'post-rollout', url: 'http://hooks.test/' }],
  }),
});

/** A canary in the middle of a rollout: traffic at 30 %, an open round, a pause, a gate, a promotion queued. */
function midRollout(): Context {
  const d = initialContext(T0);
  d.phase = 'Progressing';
  d.revision = 'rev-2';
  d.lastPromoted = 'rev-1';
  d.primaryRevision = 'rev-1';
  d.routes = { primaryWeight: 70, canaryWeight: 30, mirror: false, match: false };
  d.failedChecks = 1;
  d.iterations = 2;
  d.cursor = 4;
  d.pauseUntil = T0 + 60_000;
  d.pauseReleased = true;
  d.gateWaiting = 'confirm-traffic-increase';
  d.promotionApplied = true;
  d.nextTickAt = T0 + 30_000;
  d.seq = 3;
  d.pending = [
    { id: 1, kind: 'runAnalysis', revision: 'rev-2' },
    { id: 2, kind: 'runWebhooks', type: 'rollback', phase: 'Progressing', revision: 'rev-2' },
    { id: 3, kind: 'promote', revision: 'rev-2' },
  ];
  d.round = {
    openedAt: T0,
    awaiting: [1, 2],
    failures: ['error rate 7 > 5'],
    inconclusive: [],
    mutedFailures: 0,
    rollback: null,
    gate: null,
  };
  return d;
}

function ended(end: RolloutEnd, from = midRollout()): Context {
  endRollout(from, plan, end);
  return from;
}

const ENDS: RolloutEnd[] = [
  { outcome: 'promoted' },
  { outcome: 'rolledBack', cause: 'aborted', now: T0 },
  { outcome: 'cancelled', revision: 'rev-1' },
  { outcome: 'recovered', revision: 'rev-1' },
];

const kinds = (d: Context) =>
  d.pending.map((e) => (e.kind === 'runWebhooks' ? `${e.kind}:${e.type}` : e.kind));

describe('endRollout', () => {
  it.each(ENDS)('clears the rollout state whatever the end ($outcome)', (end) => {
    const d = ended(end);
    expect(d).toMatchObject({
      round: null,
      cursor: 0,
      nextTickAt: null,
      pauseUntil: null,
      pauseReleased: false,
      gateWaiting: null,
      promotionApplied: false,
    });
    expect(kinds(d)).not.toContain('runAnalysis');
    expect(kinds(d)).not.toContain('promote');
    expect(kinds(d)).not.toContain('runWebhooks:rollback');
  });

  it('a rollback sends primary-only routes and scales the canary down, even when the routes are there already', () => {
    expect(ended({ outcome: 'rolledBack', cause: 'aborted', now: T0 }).routes).toEqual(PRIMARY_ONLY);
    const idle = midRollout();
    idle.routes = { ...PRIMARY_ONLY };
    expect(kinds(ended({ outcome: 'rolledBack', cause: 'aborted', now: T0 }, idle))).toEqual([
      'setRoutes',
      'scaleCanary',
      'recordEvent',
      'notify',
      'runWebhooks:post-rollout',
    ]);
  });

  it('a cancelled rollout sends primary-only routes only when traffic moved, and scales the canary down', () => {
    expect(kinds(ended({ outcome: 'cancelled', revision: 'rev-1' }))).toEqual([
      'setRoutes',
      'scaleCanary',
      'recordEvent',
      'notify',
    ]);
    const idle = midRollout();
    idle.routes = { ...PRIMARY_ONLY };
    expect(kinds(ended({ outcome: 'cancelled', revision: 'rev-1' }, idle))).toEqual([
      'scaleCanary',
      'recordEvent',
      'notify',
    ]);
  });

  it('a promotion and a recovery leave routes and scale to what came before (Finalising, the rollback)', () => {
    for (const end of [{ outcome: 'promoted' }, { outcome: 'recovered', revision: 'rev-1' }] as const) {
      const d = ended(end);
      expect(kinds(d)).not.toContain('setRoutes');
      expect(kinds(d)).not.toContain('scaleCanary');
      expect(d.routes).toEqual(midRollout().routes);
    }
  });

  it('keeps the failed checks except after a recovery, which is healthy again', () => {
    // promoted, rolled back, cancelled, recovered
    expect(ENDS.map((end) => ended(end).failedChecks)).toEqual([1, 1, 1, 0]);
  });

  it('counts the failed check that made a rollback, and says which checks failed', () => {
    const d = ended({ outcome: 'rolledBack', cause: 'failedChecks', now: T0 });
    expect(d.failedChecks).toBe(2);
    expect(d.message).toBe('rolling back: failed checks threshold reached 2: error rate 7 > 5');
  });

  it('keeps the iterations (how far it got) except after a promotion, which went all the way', () => {
    expect(ENDS.map((end) => ended(end).iterations)).toEqual([0, 2, 2, 2]);
  });

  it('records the promoted revision only when promoted; a revert records the revision the target went back to', () => {
    expect(ended({ outcome: 'promoted' })).toMatchObject({
      revision: 'rev-2',
      lastPromoted: 'rev-2',
      primaryRevision: 'rev-2',
    });
    for (const end of ENDS.filter((e) => e.outcome !== 'promoted')) {
      expect(ended(end)).toMatchObject({ lastPromoted: 'rev-1', primaryRevision: 'rev-1' });
    }
    expect(ended({ outcome: 'cancelled', revision: 'rev-1' }).revision).toBe('rev-1');
    expect(ended({ outcome: 'recovered', revision: 'rev-1' }).revision).toBe('rev-1');
    expect(ended({ outcome: 'rolledBack', cause: 'aborted', now: T0 }).revision).toBe('rev-2');
  });

  it('calls post-rollout webhooks after a promotion and a rollback only', () => {
    const hooks = (end: RolloutEnd) =>
      ended(end).pending.flatMap((e) =>
        e.kind === 'runWebhooks' && e.type === 'post-rollout' ? [e.phase] : [],
      );
    expect(hooks({ outcome: 'promoted' })).toEqual(['Succeeded']);
    expect(hooks({ outcome: 'rolledBack', cause: 'aborted', now: T0 })).toEqual(['Failed']);
    expect(hooks({ outcome: 'cancelled', revision: 'rev-1' })).toEqual([]);
    expect(hooks({ outcome: 'recovered', revision: 'rev-1' })).toEqual([]);
  });
});
