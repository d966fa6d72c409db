import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { CanaryAnalysis, HOOK_TYPES } from '../api/canary.ts';
import { machineStates, machineTransitions, transitionKey } from '../../scripts/state-diagram.ts';
import type { MachineStatus } from './driver.ts';
import { planFromSpec, type PlanSpec } from './plan.ts';
import { Simulation, type SimWorld } from '../../test/support/simulate.ts';
import type { Phase } from './types.ts';

// A table of scenarios: given a spec, a world (readiness, check outcomes, webhook answers)
// and a sequence of observations in simulated time, the machine goes through these
// phases, sets these routes and asks these webhooks. Every state and transition the
// machine defines must be taken by at least one scenario (checked at the end).

const visitedTransitions = new Set<string>();
const visitedStates = new Set<string>();

function statePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [`${prefix}${value}`];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => [
      `${prefix}${key}`,
      ...statePaths(child, `${prefix}${key}.`),
    ]);
  }
  return [];
}

function inspect(event: InspectionEvent): void {
  if (event.type === '@xstate.microstep') {
    for (const transition of event._transitions) visitedTransitions.add(transitionKey(transition));
  }
  if (event.type === '@xstate.snapshot') {
    for (const path of statePaths((event.snapshot as { value?: unknown }).value)) visitedStates.add(path);
  }
}

type Spec = Partial<Omit<PlanSpec, 'analysis'>>;

function simulation(analysis: object, spec: Spec = {}, world: Partial<SimWorld> = {}): Simulation {
  const plan = planFromSpec({ analysis: CanaryAnalysis.parse(analysis), ...spec });
  return new Simulation(plan, { world, step: { inspect } });
}

function withPlan(sim: Simulation, analysis: object, spec: Spec = {}): void {
  sim.plan = planFromSpec({ analysis: CanaryAnalysis.parse(analysis), ...spec });
}

const METRICS = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];
/** A canary stepping `stepWeight` % at a time, checked on METRICS; `more` adds to or overrides that. */
const stepping = (stepWeight: number, more: object = {}) => ({ stepWeight, metrics: METRICS, ...more });
const hook = (type: string) => ({ name: `${type}-hook`, type, url: `http://hooks.test/${type}` });
const ALL_HOOKS = HOOK_TYPES.map(hook);
const DONE: Phase[] = ['Succeeded', 'Failed'];
/** The phases of a promotion once the analysis is done. */
const PROMOTION: Phase[] = ['Promoting', 'Finalising', 'Succeeded'];
/** The phases a scenario goes through: the bootstrap, then these. */
const afterBootstrap = (...phases: (Phase | Phase[])[]): Phase[] => [
  'Initializing',
  'Initialized',
  ...phases.flat(),
];
const PROMOTED = afterBootstrap('Progressing', PROMOTION);
const ROLLED_BACK = afterBootstrap('Progressing', 'Failed');
/** Rolled back from a first step of 20 %: the phases and the routes. */
const ROLLED_BACK_FROM_20: Pick<Scenario, 'phases' | 'routes'> = {
  phases: ROLLED_BACK,
  routes: ['0', '20', '0'],
};
/** Analysed, held at the promotion gate, then rolled back. */
const GATE_FAILED: Phase[] = ['Progressing', 'WaitingPromotion', 'Failed'];

/** Initializes with rev-1, then a new revision rev-2 arrives. */
function start(sim: Simulation): void {
  sim.initialize('rev-1');
  sim.observe({ type: 'REVISION', revision: 'rev-2' });
}

/** One step to 100 % with metrics, and a confirm-promotion gate that says no (a fresh world each time). */
function heldForPromotion(): Pick<Scenario, 'analysis' | 'world'> {
  return {
    analysis: stepping(100, { webhooks: [hook('confirm-promotion')] }),
    world: { hooks: { 'confirm-promotion': false } },
  };
}

/** heldForPromotion(), and a run that starts it, ticks until it waits for promotion, then does `next`. */
function fromPromotionGate(next: (sim: Simulation) => void): Pick<Scenario, 'analysis' | 'world' | 'run'> {
  return {
    ...heldForPromotion(),
    run: (sim) => {
      startUntil(sim, 'WaitingPromotion');
      next(sim);
    },
  };
}

/** start(), then ticks until the canary is in `phase`. */
function startUntil(sim: Simulation, phase: Phase): void {
  start(sim);
  sim.tickUntil([phase]);
}

/** start(), then one tick: the canary is at its first step. */
function atFirstStep(sim: Simulation): void {
  start(sim);
  sim.tick();
}

/** A scenario's `analysis`, and a run that starts it, goes to its first step, and then does `next`. */
function fromFirstStep(
  analysis: object,
  next: (sim: Simulation) => void,
): Pick<Scenario, 'analysis' | 'run'> {
  return {
    analysis,
    run: (sim) => {
      atFirstStep(sim);
      next(sim);
    },
  };
}

function runToEnd(sim: Simulation): void {
  start(sim);
  sim.tickUntil(DONE);
}

interface Scenario {
  name: string;
  analysis: object;
  spec?: Spec;
  world?: Partial<SimWorld>;
  run?: (sim: Simulation) => void;
  phases?: Phase[];
  routes?: string[];
  hooks?: string[];
  /** Event messages that must appear, in this order (others may come between). */
  events?: string[];
  promoted?: string[];
  status?: Partial<MachineStatus>;
  check?: (sim: Simulation) => void;
}

function promotedRevisions(sim: Simulation): string[] {
  return sim.issued().flatMap((effect) => (effect.kind === 'promote' ? [effect.revision] : []));
}

function expectInOrder(actual: string[], expected: string[]): void {
  let from = 0;
  for (const message of expected) {
    const at = actual.findIndex((candidate, i) => i >= from && candidate.includes(message));
    expect(at, `"${message}" after position ${from} in:\n  ${actual.join('\n  ')}`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
}

const scenarios: Scenario[] = [
  // ---- Strategies ----
  {
    name: 'weighted canary by stepWeight/maxWeight promotes after the analysis at maxWeight',
    analysis: stepping(20, { maxWeight: 60 }),
    phases: PROMOTED,
    routes: ['0', '20', '40', '60', '0'],
    promoted: ['rev-1', 'rev-2'],
    events: [
      'initialization done',
      'new revision detected, starting canary analysis',
      'advance canary weight 20',
      'advance canary weight 40',
      'advance canary weight 60',
      'analysis passed: copying the canary spec to the primary',
      'routing all traffic to the primary',
      'promotion completed',
    ],
    status: {
      phase: 'Succeeded',
      canaryWeight: 0,
      failedChecks: 0,
      lastAppliedSpec: 'rev-2',
      lastPromotedSpec: 'rev-2',
    },
  },
  {
    name: 'weighted canary by the stepWeights list',
    analysis: { stepWeights: [1, 5, 25, 50], metrics: METRICS },
    phases: PROMOTED,
    routes: ['0', '1', '5', '25', '50', '0'],
  },
  {
    name: 'explicit steps: setWeight, pause with a duration, analysis, pause until resumed',
    analysis: {
      steps: [
        { setWeight: 20 },
        { pause: { duration: '3m' } },
        { setWeight: 50 },
        { analysis: {} },
        { pause: {} },
        { setWeight: 80 },
      ],
      metrics: METRICS,
    },
    run: (sim) => {
      start(sim);
      sim.tick(); // pre-rollout passes → 20%, and the 3m pause starts right after
      const pausedAt = sim.now;
      expect(sim.last!.status.deadlines?.pauseUntil).toBe(new Date(pausedAt + 180_000).toISOString());
      sim.tick();
      sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(20);
      sim.tick(); // 3m passed (and the checks at 20% passed) → 50%
      expect(sim.last!.status.canaryWeight).toBe(50);
      sim.tick(); // analysis at 50% → indefinite pause
      for (let i = 0; i < 5; i++) sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.status.canaryWeight).toBe(50);
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '20', '50', '80', '0'],
    events: [
      'advance canary weight 20',
      'pausing for 3m',
      'advance canary weight 50',
      'paused until promoted',
      'advancement resumed by command',
      'advance canary weight 80',
    ],
  },
  {
    name: 'manual promote at a pause-until-promoted step skips the remaining steps',
    analysis: {
      steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { setWeight: 90 }],
      metrics: METRICS,
    },
    run: (sim) => {
      atFirstStep(sim);
      sim.tick();
      sim.tick();
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '10', '0'],
    events: ['promoted by command, remaining steps skipped'],
  },
  {
    name: 'stepWeightPromotion moves traffic back to the primary gradually',
    analysis: stepping(25, { maxWeight: 50, stepWeightPromotion: 20 }),
    phases: PROMOTED,
    routes: ['0', '25', '50', '30', '10', '0'],
    events: ['advance primary weight 70', 'advance primary weight 90', 'promotion completed'],
  },
  {
    name: 'A/B testing routes matching requests to the canary for `iterations` analyses',
    analysis: { iterations: 3, match: [{ headers: { 'x-canary': { exact: 'insider' } } }], metrics: METRICS },
    phases: PROMOTED,
    routes: ['0', '100ab', '0'],
    events: [
      'routing matching requests to the canary',
      'advance canary iteration 1/3',
      'advance canary iteration 3/3',
      'promotion completed',
    ],
  },
  {
    name: 'blue/green: iterations at 0%, then all traffic to the canary for the final iteration',
    analysis: { iterations: 2, metrics: METRICS },
    phases: PROMOTED,
    routes: ['0', '100', '0'],
    events: [
      'advance canary iteration 1/2',
      'advance canary iteration 2/2',
      'routing all traffic to the canary',
      'final check passed with all traffic on the canary',
    ],
  },
  {
    name: 'blue/green with mirroring mirrors during the iterations',
    analysis: { iterations: 2, mirror: true, metrics: METRICS },
    phases: PROMOTED,
    routes: ['0', '0m', '100', '0'],
  },
  {
    name: 'canary with a mirror step mirrors before shifting weight',
    analysis: stepping(50, { mirror: true }),
    phases: PROMOTED,
    routes: ['0', '0m', '50', '100', '0'],
  },
  {
    name: 'kubernetes provider runs blue/green with 10 iterations',
    analysis: { stepWeight: 10 },
    spec: { provider: 'kubernetes' },
    phases: PROMOTED,
    routes: ['0', '100', '0'],
    check: (sim) => expect(sim.events()).toContain('advance canary iteration 10/10'),
  },

  // ---- Webhooks at their points ----
  {
    name: 'the webhook types are called at their points',
    analysis: stepping(50, { webhooks: ALL_HOOKS }),
    phases: afterBootstrap('Waiting', 'Progressing', 'WaitingPromotion', PROMOTION),
    routes: ['0', '50', '100', '0'],
    hooks: [
      'rollback',
      'confirm-rollout',
      'rollback',
      'pre-rollout',
      'confirm-traffic-increase',
      'rollback',
      'rollout',
      'confirm-traffic-increase',
      'rollback',
      'rollout',
      'confirm-promotion',
      'post-rollout',
    ],
  },
  {
    name: 'confirm-rollout holds the canary in Waiting (not scaled up) until it passes',
    analysis: stepping(50, { webhooks: [hook('confirm-rollout')] }),
    world: { hooks: { 'confirm-rollout': false } },
    run: (sim) => {
      start(sim);
      for (let i = 0; i < 3; i++) sim.tick();
      expect(sim.phase).toBe('Waiting');
      expect(sim.issued().some((e) => e.kind === 'scaleCanary' && e.to === 'up')).toBe(false);
      sim.world.hooks['confirm-rollout'] = true;
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Waiting', 'Progressing', PROMOTION),
    check: (sim) => {
      expect(sim.hooks().filter((type) => type === 'confirm-rollout')).toHaveLength(5);
      expect(
        sim
          .issued()
          .filter((e) => e.kind === 'notify' && e.message === 'waiting for approval: confirm-rollout'),
      ).toHaveLength(1);
    },
  },
  {
    name: 'confirm-traffic-increase holds the weight while checks go on; a failing check there still rolls back',
    analysis: {
      stepWeight: 20,
      threshold: 2,
      metrics: METRICS,
      webhooks: [hook('confirm-traffic-increase')],
    },
    run: (sim) => {
      start(sim);
      sim.tick(); // → 20%
      sim.world.hooks['confirm-traffic-increase'] = false;
      sim.tick();
      sim.tick();
      expect(sim.last!.status).toMatchObject({ phase: 'Progressing', canaryWeight: 20 });
      sim.world.analysis = ['failed'];
      sim.tick();
      sim.tick();
    },
    ...ROLLED_BACK_FROM_20,
    events: [
      'waiting for approval: confirm-traffic-increase',
      'halt advancement: failed checks 1/2',
      'rolling back: failed checks threshold reached 2',
    ],
  },
  {
    name: 'confirm-promotion holds in WaitingPromotion; a failing check there still rolls back',
    analysis: stepping(50, { threshold: 2, webhooks: [hook('confirm-promotion')] }),
    world: { hooks: { 'confirm-promotion': false } },
    run: (sim) => {
      start(sim);
      for (let i = 0; i < 5; i++) sim.tick();
      expect(sim.last!.status).toMatchObject({ phase: 'WaitingPromotion', canaryWeight: 100 });
      sim.now += 1000;
      sim.observe({ type: 'TICK' }); // early
      sim.world.analysis = ['noData'];
      sim.now += 60_000;
      sim.send({ type: 'TICK' });
      sim.now += 60_000;
      sim.send({ type: 'TICK' }); // the checks of the last interval are still unanswered
      sim.settle();
      expect(sim.last!.status).toMatchObject({ phase: 'WaitingPromotion', failedChecks: 1 });
      sim.tick();
    },
    phases: afterBootstrap(GATE_FAILED),
    events: [
      'waiting for approval: confirm-promotion',
      'halt advancement: failed checks 1/2: no data',
      'rolling back: failed checks threshold reached 2',
    ],
    check: (sim) =>
      expect(
        sim.issued().filter((e) => e.kind === 'notify' && e.message.startsWith('waiting for approval')),
      ).toHaveLength(1),
  },
  {
    name: 'confirm-promotion passing later promotes',
    ...heldForPromotion(),
    run: (sim) => {
      start(sim);
      for (let i = 0; i < 4; i++) sim.tick();
      sim.world.hooks['confirm-promotion'] = true;
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Progressing', 'WaitingPromotion', PROMOTION),
  },
  {
    name: 'blue/green confirm-promotion comes before the final switch',
    analysis: { iterations: 1, metrics: METRICS, webhooks: [hook('confirm-promotion')] },
    phases: afterBootstrap('Progressing', 'WaitingPromotion', 'Progressing', PROMOTION),
    routes: ['0', '100', '0'],
  },
  // ---- The judge and failFast metrics: looks between rounds ----
  {
    name: 'the judge looks every checkEvery between rounds; steps still advance on the interval',
    analysis: { stepWeight: 50, checkEvery: '20s', judge: {} },
    run: (sim) => {
      start(sim);
      expect(sim.last!.wakeAt).toBe(sim.now + 20_000); // the first look comes before the first round
      sim.tick(); // pre-rollout → 50 %
      for (let i = 0; i < 2; i++) sim.tick(20_000); // two looks, nothing decisive
      expect(sim.last!.effects.filter((e) => e.kind === 'runLook')).toHaveLength(0); // answered and gone
      expect(sim.log.filter((entry) => entry.observation.type === 'LOOK_RESULT')).toHaveLength(2);
      expect(sim.last!.status.canaryWeight).toBe(50);
      sim.tick(20_000); // one interval since the round: the step, not a look
      expect(sim.last!.status.canaryWeight).toBe(100);
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '50', '100', '0'],
  },
  {
    name: 'a decisive regression found by a look rolls back at once, between steps, saying why',
    world: { looks: [null, null, 'judge: errors: canary 2.5 % vs primary 0.5 %: regression (increase)'] },
    ...fromFirstStep({ stepWeight: 20, threshold: 5, checkEvery: '10s', judge: {} }, (sim) => {
      for (let i = 0; i < 3; i++) sim.tick(10_000);
    }),
    ...ROLLED_BACK_FROM_20,
    events: [
      'rolling back: fast-fail check between steps: judge: errors: canary 2.5 % vs primary 0.5 %: regression (increase)',
    ],
    status: { failedChecks: 0 },
    check: (sim) => expect(sim.last!.wakeAt).toBeNull(),
  },
  {
    name: 'looks go on while waiting at confirm-promotion, and roll back from there',
    analysis: { stepWeight: 100, checkEvery: '10s', judge: {}, webhooks: [hook('confirm-promotion')] },
    world: { hooks: { 'confirm-promotion': false } },
    run: (sim) => {
      start(sim);
      sim.tickUntil(['WaitingPromotion']);
      sim.tick(10_000); // a look while the gate's round is open
      expect(sim.phase).toBe('WaitingPromotion');
      sim.world.looks = ['failFast restarts: 3 > max 0'];
      sim.tick(10_000);
    },
    phases: afterBootstrap(GATE_FAILED),
    events: ['rolling back: fast-fail check between steps: failFast restarts: 3 > max 0'],
  },
  {
    name: 'a critical regression at a round rolls back at once, whatever the threshold',
    world: { analysis: ['failed'], analysisRollback: 'judge: errors: regression (increase)' },
    ...fromFirstStep({ stepWeight: 20, threshold: 5, judge: {} }, (sim) => {
      sim.tick();
    }),
    phases: ROLLED_BACK,
    events: ['rolling back: judge: errors: regression (increase)'],
  },
  {
    name: 'a look answered after the analysis ended is only confirmed; a look found nothing stays quiet',
    ...fromFirstStep(
      { stepWeight: 20, checkEvery: '10s', metrics: [{ ...METRICS[0], failFast: true }] },
      (sim) => {
        sim.now += 10_000;
        sim.send({ type: 'TICK' }); // a look asked, not answered yet
        const look = sim.last!.effects.find((e) => e.kind === 'runLook')!;
        sim.observe({ type: 'MANUAL', command: 'promote' });
        expect(sim.last!.effects.some((e) => e.kind === 'runLook')).toBe(false);
        sim.observe({ type: 'LOOK_RESULT', effectId: look.id, rollback: 'too late' });
        expect(sim.phase).toBe('Promoting');
        sim.tickUntil(DONE);
      },
    ),
    phases: PROMOTED,
  },
  {
    name: 'a rollback webhook answering 2xx rolls back while progressing',
    ...fromFirstStep(stepping(20, { webhooks: [hook('rollback'), hook('post-rollout')] }), (sim) => {
      sim.tick();
      sim.world.hooks.rollback = true;
      sim.tick();
    }),
    phases: ROLLED_BACK,
    routes: ['0', '20', '40', '0'],
    hooks: ['rollback', 'rollback', 'rollback', 'post-rollout'],
    events: ['rolling back: rollback webhook rollback-hook asked for it'],
  },
  {
    name: 'a rollback webhook rolls back while waiting for confirm-rollout',
    analysis: { stepWeight: 20, webhooks: [hook('rollback'), hook('confirm-rollout')] },
    world: { hooks: { 'confirm-rollout': false, rollback: true } },
    run: start,
    phases: afterBootstrap('Waiting', 'Failed'),
  },
  {
    name: 'a rollback webhook rolls back while waiting for confirm-promotion',
    analysis: { stepWeight: 100, webhooks: [hook('rollback'), hook('confirm-promotion')] },
    world: { hooks: { 'confirm-promotion': false } },
    run: (sim) => {
      startUntil(sim, 'WaitingPromotion');
      sim.tick();
      sim.world.hooks.rollback = true;
      sim.tick();
    },
    phases: afterBootstrap(GATE_FAILED),
  },
  {
    name: 'a failing pre-rollout webhook counts as a failed check',
    world: { hooks: { 'pre-rollout': false } },
    ...fromFirstStep({ stepWeight: 50, threshold: 2, webhooks: [hook('pre-rollout')] }, (sim) => {
      sim.tick();
    }),
    phases: ROLLED_BACK,
    routes: ['0', '0'],
    events: [
      'halt advancement: failed checks 1/2: pre-rollout webhook pre-rollout-hook failed: 503',
      'rolling back: failed checks threshold reached 2',
    ],
  },
  {
    name: 'a failing post-rollout webhook is reported',
    analysis: { stepWeight: 100, webhooks: [hook('post-rollout')] },
    world: { hooks: { 'post-rollout': false } },
    phases: PROMOTED,
    events: ['promotion completed', 'post-rollout webhook post-rollout-hook failed: 503'],
  },

  // ---- Checks and thresholds ----
  {
    name: 'failed checks below the threshold halt; at the threshold the canary rolls back (no data counts)',
    analysis: stepping(20, { threshold: 3 }),
    world: { analysis: ['passed', 'failed', 'passed', 'noData', 'failed'] },
    phases: ROLLED_BACK,
    routes: ['0', '20', '40', '60', '0'],
    events: [
      'halt advancement: failed checks 1/3: request-success-rate failed',
      'halt advancement: failed checks 2/3: no data',
      'rolling back: failed checks threshold reached 3: request-success-rate failed',
    ],
    status: {
      phase: 'Failed',
      canaryWeight: 0,
      failedChecks: 3,
      lastPromotedSpec: 'rev-1',
      message: 'rolling back: failed checks threshold reached 3: request-success-rate failed',
    },
  },
  {
    // At threshold 1 no Halt Event comes first: the rollback itself says which check failed.
    name: 'a failing rollout webhook is a failed check',
    analysis: { stepWeight: 50, webhooks: [hook('rollout')] },
    world: { hooks: { rollout: false } },
    phases: ROLLED_BACK,
    events: ['rolling back: failed checks threshold reached 1: rollout webhook rollout-hook failed: 503'],
  },

  // ---- Progress deadline ----
  {
    name: 'a canary that never becomes ready is rolled back after progressDeadlineSeconds',
    analysis: stepping(50),
    spec: { progressDeadlineSeconds: 300 },
    world: { canary: 'notReady' },
    run: (sim) => {
      start(sim);
      for (let i = 0; i < 4; i++) sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.status.deadlines?.canaryReady).toBeDefined();
      sim.tick();
    },
    phases: ROLLED_BACK,
    routes: ['0', '0'],
    events: ['rolling back: canary not ready within the progress deadline (300s)'],
  },
  {
    name: 'a crash-looping canary (ready now and then) still runs out of its deadline',
    analysis: stepping(10),
    spec: { progressDeadlineSeconds: 240 },
    run: (sim) => {
      start(sim);
      sim.world.canary = 'notReady';
      for (let i = 0; i < 12 && sim.phase === 'Progressing'; i++) {
        // Ready for 10s every minute, as a pod that starts, passes its probe and crashes.
        sim.now += 50_000;
        sim.observe({ type: 'READINESS', canary: 'ready' });
        sim.tick(10_000);
      }
    },
    phases: ROLLED_BACK,
    events: ['rolling back: canary not ready within the progress deadline (240s)'],
  },
  {
    name: 'a deadline reported by Kubernetes rolls back at once',
    ...fromFirstStep(stepping(10), (sim) => {
      sim.observe({ type: 'READINESS', canary: 'deadlineExceeded' });
    }),
    phases: ROLLED_BACK,
  },
  {
    name: 'a canary stuck at confirm-promotion that stops being ready is rolled back',
    // The deadline counts every not-ready moment since scale-up: 60s to start + 120s now.
    spec: { progressDeadlineSeconds: 180 },
    ...fromPromotionGate((sim) => {
      sim.world.canary = 'notReady';
      sim.tick();
      sim.tick();
      expect(sim.phase).toBe('WaitingPromotion');
      sim.now += 60_000;
      sim.observe({ type: 'READINESS', canary: 'notReady' });
    }),
    phases: afterBootstrap(GATE_FAILED),
  },
  {
    name: 'a canary that is not ready at a WaitingPromotion tick past its deadline is rolled back',
    spec: { progressDeadlineSeconds: 180 },
    ...fromPromotionGate((sim) => {
      sim.world.canary = 'notReady';
      sim.tick(); // not ready from now on: waits for the canary
      expect(sim.last!.status.message).toBe('waiting for the canary to become ready');
      sim.now += 120_000;
      sim.observe({ type: 'TICK' });
    }),
    phases: afterBootstrap(GATE_FAILED),
  },
  {
    name: 'a rollout whose primary has no ready pod waits before any traffic moves, says so once, and goes on when it is ready',
    analysis: stepping(20, { maxWeight: 40 }),
    spec: { progressDeadlineSeconds: 600 },
    run: (sim) => {
      sim.initialize('rev-1');
      sim.world.primary = 'notReady';
      sim.observe({ type: 'REVISION', revision: 'rev-2' });
      sim.observe({
        type: 'READINESS',
        canary: 'ready',
        primary: 'notReady',
        primaryMessage: 'Deployment shop/podinfo-primary: 0 of 1 replicas available',
      });
      for (let i = 0; i < 3; i++) sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.status.canaryWeight).toBe(0);
      expect(sim.last!.status.message).toBe(
        'waiting for the primary to become ready before moving traffic: Deployment shop/podinfo-primary: 0 of 1 replicas available',
      );
      expect(sim.last!.status.deadlines?.primaryReady).toBeDefined();
      sim.world.primary = 'ready';
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '20', '40', '0'],
    check: (sim) => {
      const waits = sim.events().filter((e) => e.startsWith('waiting for the primary'));
      expect(waits).toHaveLength(1);
    },
  },
  {
    name: 'a rollout whose primary stays not ready past the progress deadline rolls back, saying why',
    analysis: stepping(20),
    spec: { progressDeadlineSeconds: 120 },
    run: (sim) => {
      start(sim);
      for (let i = 0; i < 5 && sim.last!.status.canaryWeight === 0; i++) sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(20);
      sim.world.primary = 'notReady';
      sim.observe({
        type: 'READINESS',
        primary: 'notReady',
        primaryMessage: 'pod podinfo-primary-x NotReady',
      });
      sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(20);
      sim.now += 70_000;
      sim.observe({ type: 'READINESS', primary: 'notReady' });
    },
    ...ROLLED_BACK_FROM_20,
    events: [
      'waiting for the primary to become ready before moving traffic: pod podinfo-primary-x NotReady',
      'rolling back: primary not ready within the progress deadline (120s): pod podinfo-primary-x NotReady',
    ],
  },
  {
    name: 'a round that passes after the primary went not ready moves no traffic; a tick past the deadline rolls back',
    spec: { progressDeadlineSeconds: 120 },
    ...fromFirstStep(stepping(20), (sim) => {
      sim.now += 60_000;
      sim.send({ type: 'READINESS', canary: 'ready', primary: 'ready' });
      const asked = sim.send({ type: 'TICK' }).effects.find((e) => e.kind === 'runAnalysis')!;
      sim.send({ type: 'READINESS', primary: 'notReady' });
      sim.observe({ type: 'ANALYSIS_RESULT', effectId: asked.id, outcome: 'passed' });
      expect(sim.last!.status.canaryWeight).toBe(20);
      expect(sim.last!.status.message).toBe('waiting for the primary to become ready before moving traffic');
      sim.now += 130_000;
      sim.observe({ type: 'TICK' });
    }),
    phases: ROLLED_BACK,
    events: ['rolling back: primary not ready within the progress deadline (120s)'],
  },
  {
    name: 'a canary held for promotion does not go on while the primary is not ready, and rolls back past the deadline',
    spec: { progressDeadlineSeconds: 180 },
    ...fromPromotionGate((sim) => {
      sim.now += 60_000;
      sim.send({ type: 'READINESS', canary: 'ready', primary: 'ready' });
      sim.send({ type: 'TICK' });
      // The round's answers come in after the primary went not ready: nothing goes on.
      sim.send({ type: 'READINESS', primary: 'notReady' });
      sim.settle();
      expect(sim.last!.status.message).toBe('waiting for the primary to become ready before moving traffic');
      sim.world.primary = 'notReady';
      sim.tick();
      expect(sim.phase).toBe('WaitingPromotion');
      sim.now += 130_000;
      sim.observe({ type: 'READINESS', primary: 'notReady' });
    }),
    phases: afterBootstrap(GATE_FAILED),
    events: ['rolling back: primary not ready within the progress deadline (180s)'],
  },
  {
    name: 'a canary held for promotion whose primary is not ready at a tick past the deadline rolls back',
    spec: { progressDeadlineSeconds: 180 },
    ...fromPromotionGate((sim) => {
      sim.world.primary = 'notReady';
      sim.tick();
      sim.now += 200_000;
      sim.observe({ type: 'TICK' });
    }),
    phases: afterBootstrap(GATE_FAILED),
    events: ['rolling back: primary not ready within the progress deadline (180s)'],
  },
  {
    name: 'a primary that never becomes ready after promotion is rolled back (Promoting)',
    analysis: stepping(100),
    spec: { progressDeadlineSeconds: 120 },
    run: (sim) => {
      startUntil(sim, 'Promoting');
      sim.world.primary = 'notReady';
      sim.now += 1000;
      sim.observe({ type: 'TICK' }); // early: nothing to do
      sim.tick();
      expect(sim.last!.status.message).toBe('waiting for the primary to become ready');
      sim.now += 70_000;
      sim.observe({ type: 'TICK' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Failed'),
    events: ['rolling back: primary not ready within the progress deadline (120s) after promotion'],
    check: (sim) => {
      // Time to restore waits for the primary to serve again: ready after the route write.
      expect(sim.dora().restoredAfterMs).toEqual([]);
      sim.now += 45_000;
      sim.observe({ type: 'READINESS', primary: 'ready' });
      expect(sim.dora().restoredAfterMs).toEqual([45_000]);
      sim.observe({ type: 'READINESS', primary: 'notReady' });
      expect(sim.dora().restoredAfterMs).toEqual([45_000]);
      // The primary runs rev-2 now; reverting the target to rev-1 is therefore a new rollout.
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
      expect(sim.phase).toBe('Progressing');
    },
  },
  {
    name: 'a primary reported past its deadline while promoting is rolled back',
    analysis: stepping(100),
    run: (sim) => {
      startUntil(sim, 'Promoting');
      sim.observe({ type: 'READINESS', primary: 'deadlineExceeded' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Failed'),
  },
  {
    name: 'a primary that stops being ready while finalising is rolled back',
    analysis: stepping(100),
    // 60s to roll out after the promote, then 70s not ready: 130s > 120s.
    spec: { progressDeadlineSeconds: 120 },
    run: (sim) => {
      startUntil(sim, 'Promoting');
      sim.world.confirmEffects = false;
      sim.tick();
      expect(sim.phase).toBe('Finalising');
      sim.world.primary = 'notReady';
      sim.tick(30_000);
      expect(sim.phase).toBe('Finalising');
      sim.now += 70_000;
      sim.observe({ type: 'TICK' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Finalising', 'Failed'),
  },
  {
    name: 'a primary reported past its deadline while finalising is rolled back',
    analysis: stepping(100),
    run: (sim) => {
      startUntil(sim, 'Promoting');
      sim.world.confirmEffects = false;
      sim.tick();
      sim.observe({ type: 'READINESS', primary: 'deadlineExceeded' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Finalising', 'Failed'),
  },

  // ---- Revisions ----
  {
    name: 'a new revision mid-analysis resets and restarts the analysis',
    world: { analysis: ['passed', 'failed', 'passed'] },
    ...fromFirstStep(stepping(25, { threshold: 3 }), (sim) => {
      sim.tick();
      sim.tick();
      expect(sim.last!.status).toMatchObject({ canaryWeight: 50, failedChecks: 1 });
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      expect(sim.last!.status).toMatchObject({
        phase: 'Progressing',
        canaryWeight: 0,
        failedChecks: 0,
        lastAppliedSpec: 'rev-3',
      });
      sim.tickUntil(DONE);
    }),
    phases: PROMOTED,
    routes: ['0', '25', '50', '0', '25', '50', '75', '100', '0'],
    promoted: ['rev-1', 'rev-3'],
    events: ['new revision detected, restarting canary analysis'],
  },
  {
    name: 'a new revision while waiting for promotion restarts the analysis',
    ...fromPromotionGate((sim) => {
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
    }),
    phases: afterBootstrap('Progressing', 'WaitingPromotion', 'Progressing'),
    status: { lastAppliedSpec: 'rev-3', canaryWeight: 0 },
  },
  {
    name: 'a revision equal to the last promoted one is not a rollout',
    analysis: stepping(50),
    run: (sim) => {
      sim.initialize('rev-1');
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
      sim.tick();
    },
    phases: afterBootstrap(),
    routes: ['0'],
  },
  {
    name: 'reverting the target to the last promoted revision mid-analysis cancels the rollout',
    ...fromFirstStep(stepping(20), (sim) => {
      sim.tick();
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
      sim.tick();
    }),
    phases: afterBootstrap('Progressing', 'Succeeded'),
    routes: ['0', '20', '40', '0'],
    promoted: ['rev-1'],
    status: { lastPromotedSpec: 'rev-1', lastAppliedSpec: 'rev-1' },
  },
  {
    name: 'reverting while waiting for approval cancels; a new revision there is taken as is',
    analysis: { stepWeight: 20, webhooks: [hook('confirm-rollout')] },
    world: { hooks: { 'confirm-rollout': false } },
    run: (sim) => {
      start(sim);
      sim.now += 1000;
      sim.observe({ type: 'TICK' }); // early: the gate is not asked again
      expect(sim.hooks()).toEqual(['confirm-rollout']);
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      expect(sim.last!.status).toMatchObject({ phase: 'Waiting', lastAppliedSpec: 'rev-3' });
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
    },
    phases: afterBootstrap('Waiting', 'Succeeded'),
  },
  {
    name: 'reverting while waiting for promotion cancels',
    ...fromPromotionGate((sim) => {
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
    }),
    phases: afterBootstrap('Progressing', 'WaitingPromotion', 'Succeeded'),
  },
  {
    name: 'a new revision before the promote is carried out restarts; after it, it waits for Succeeded',
    analysis: stepping(100),
    run: (sim) => {
      start(sim);
      sim.world.holdEffects = ['promote'];
      sim.tickUntil(['Promoting']);
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.effects.some((e) => e.kind === 'promote')).toBe(false);
      sim.world.holdEffects = [];
      sim.settle();
      sim.tickUntil(['Promoting']);
      sim.observe({ type: 'REVISION', revision: 'rev-4' }); // promote of rev-3 already carried out
      expect(sim.phase).toBe('Promoting');
      sim.tickUntil(['Succeeded']);
      sim.observe({ type: 'REVISION', revision: 'rev-4' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Progressing', PROMOTION, 'Progressing'),
    promoted: ['rev-1', 'rev-2', 'rev-3'],
  },
  {
    name: 'a revert before the promote is carried out cancels the rollout',
    analysis: stepping(100),
    run: (sim) => {
      start(sim);
      sim.world.holdEffects = ['promote'];
      sim.tickUntil(['Promoting']);
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Succeeded'),
    status: { lastPromotedSpec: 'rev-1' },
  },

  // ---- skipAnalysis, suspend, spec changes ----
  {
    name: 'skipAnalysis promotes directly once the canary is ready',
    analysis: stepping(10, { webhooks: [hook('rollout')] }),
    spec: { skipAnalysis: true },
    phases: PROMOTED,
    routes: ['0'],
    events: ['canary analysis skipped: copying the canary spec to the primary', 'promotion completed'],
    check: (sim) => {
      expect(sim.issued().some((e) => e.kind === 'runAnalysis')).toBe(false);
      expect(sim.hooks()).toEqual([]);
    },
  },
  {
    name: 'skipAnalysis set while waiting for promotion promotes',
    ...fromPromotionGate((sim) => {
      withPlan(sim, stepping(100, { webhooks: [hook('confirm-promotion')] }), { skipAnalysis: true });
      sim.tickUntil(DONE);
    }),
    phases: afterBootstrap('Progressing', 'WaitingPromotion', PROMOTION),
  },
  {
    name: 'suspend freezes the analysis and its clocks; resuming continues where it stopped',
    spec: { progressDeadlineSeconds: 120 },
    ...fromFirstStep(stepping(20), (sim) => {
      sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(40);
      withPlan(sim, stepping(20), { progressDeadlineSeconds: 120, suspend: true });
      sim.world.canary = 'notReady';
      for (let i = 0; i < 10; i++) sim.tick();
      expect(sim.last!.status).toMatchObject({ phase: 'Progressing', canaryWeight: 40 });
      expect(sim.last!.wakeAt).toBeNull();
      sim.world.canary = 'ready';
      withPlan(sim, stepping(20), { progressDeadlineSeconds: 120 });
      sim.tickUntil(DONE);
    }),
    phases: PROMOTED,
    routes: ['0', '20', '40', '60', '80', '100', '0'],
    events: ['canary suspended: analysis frozen', 'canary resumed', 'advance canary weight 60'],
  },
  {
    name: 'an effect confirmed while suspended is recorded; spec edits while suspended are noted',
    analysis: { stepWeight: 50 },
    run: (sim) => {
      sim.world.confirmEffects = false;
      sim.initialize('rev-1');
      const promote = sim.last!.effects.find((e) => e.kind === 'promote')!;
      withPlan(sim, { stepWeight: 50 }, { suspend: true });
      sim.observe({ type: 'TICK' });
      withPlan(sim, { stepWeight: 40 }, { suspend: true });
      sim.observe({ type: 'EFFECT_DONE', effectId: promote.id });
      expect(sim.last!.effects.some((e) => e.kind === 'promote')).toBe(false);
      withPlan(sim, { stepWeight: 40 });
      sim.world.confirmEffects = true;
      sim.observe({ type: 'READINESS', primary: 'ready' });
    },
    phases: afterBootstrap(),
  },
  {
    name: 'changing the steps mid-analysis restarts it; other changes are taken as they come',
    ...fromFirstStep(stepping(25), (sim) => {
      sim.tick();
      withPlan(sim, { stepWeight: 25, threshold: 3, metrics: METRICS });
      sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(75);
      withPlan(sim, { stepWeight: 50, threshold: 3, metrics: METRICS });
      sim.tick();
      sim.tickUntil(DONE);
    }),
    phases: PROMOTED,
    routes: ['0', '25', '50', '75', '0', '50', '100', '0'],
    events: ['analysis steps changed, restarting canary analysis'],
  },
  {
    name: 'changing the steps while waiting for promotion restarts the analysis',
    ...fromPromotionGate((sim) => {
      withPlan(sim, stepping(50, { webhooks: [hook('confirm-promotion')] }));
      sim.tick();
    }),
    phases: afterBootstrap('Progressing', 'WaitingPromotion', 'Progressing'),
  },

  // ---- Commands ----
  {
    name: 'a failed canary whose target is reverted to the primary revision in Git is healthy again',
    ...fromFirstStep(stepping(20), (sim) => {
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.tick();
      expect(sim.phase).toBe('Failed');
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
      sim.tick();
      expect(sim.last!.status).toMatchObject({
        phase: 'Succeeded',
        failedChecks: 0,
        lastPromotedSpec: 'rev-1',
      });
    }),
    phases: afterBootstrap('Progressing', 'Failed', 'Succeeded'),
    promoted: ['rev-1'],
    events: [
      'rolling back: aborted by command',
      'target reverted to the revision the primary runs: nothing to roll out',
    ],
  },
  {
    name: 'effects that keep failing for the progress deadline roll a progressing canary back, saying why',
    spec: { progressDeadlineSeconds: 300 },
    ...fromFirstStep(stepping(20), (sim) => {
      sim.observe({ type: 'NO_PROGRESS', reason: 'could not setRoutes: 503' });
    }),
    ...ROLLED_BACK_FROM_20,
    events: ['rolling back: no progress within the progress deadline (300s): could not setRoutes: 503'],
  },
  {
    name: 'effects that keep failing roll a canary waiting for promotion back too',
    ...fromPromotionGate((sim) => {
      sim.observe({ type: 'NO_PROGRESS', reason: 'could not scaleCanary: 500' });
    }),
    phases: afterBootstrap(GATE_FAILED),
    events: [
      'waiting for approval: confirm-promotion',
      'rolling back: no progress within the progress deadline (600s): could not scaleCanary: 500',
    ],
  },
  {
    name: 'a route write that is not confirmed holds the step: no later weight, no round, no promotion',
    analysis: stepping(50, { maxWeight: 100 }),
    run: (sim) => {
      start(sim);
      sim.world.holdEffects = ['setRoutes'];
      sim.tick(); // the round passes: weight 50 is asked for, and never confirmed
      const rounds = sim.issued().filter((e) => e.kind === 'runAnalysis').length;
      for (let i = 0; i < 5; i++) sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.status.canaryWeight).toBe(50);
      expect(sim.last!.status.message).toBe('waiting for the router to apply canary weight 50');
      expect(sim.issued().filter((e) => e.kind === 'runAnalysis')).toHaveLength(rounds);
      // The router confirms: the next round runs at 50, then the program goes on.
      sim.world.holdEffects = [];
      sim.settle();
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '50', '100', '0'],
  },
  {
    name: 'the last route write of the program unconfirmed: no promotion (nor confirm-promotion gate) until it is',
    analysis: stepping(100, { webhooks: [hook('confirm-promotion')] }),
    run: (sim) => {
      start(sim);
      sim.world.holdEffects = ['setRoutes'];
      for (let i = 0; i < 4; i++) sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.hooks()).not.toContain('confirm-promotion');
      sim.world.holdEffects = [];
      sim.settle();
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Progressing', 'WaitingPromotion', PROMOTION),
    promoted: ['rev-1', 'rev-2'],
  },
  {
    name: 'promotion steps wait for each route write; writes that keep failing roll back',
    analysis: stepping(50, { maxWeight: 50, stepWeightPromotion: 20 }),
    run: (sim) => {
      startUntil(sim, 'Promoting');
      sim.tick(); // primary weight 70 asked for
      sim.world.holdEffects = ['setRoutes'];
      sim.tick(); // primary weight 90 asked for, never confirmed
      for (let i = 0; i < 3; i++) sim.tick();
      expect(sim.phase).toBe('Promoting');
      expect(sim.last!.status.canaryWeight).toBe(10);
      sim.observe({ type: 'NO_PROGRESS', reason: 'could not setRoutes: 503' });
    },
    phases: afterBootstrap('Progressing', 'Promoting', 'Failed'),
    routes: ['0', '50', '30', '10', '0'],
    events: ['rolling back: no progress within the progress deadline (600s): could not setRoutes: 503'],
  },
  {
    name: 'manual abort rolls back and stays Failed until a new revision',
    ...fromFirstStep(stepping(20), (sim) => {
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.tick();
      sim.observe({ type: 'REVISION', revision: 'rev-2' });
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.tick();
      expect(sim.phase).toBe('Failed');
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      sim.tickUntil(DONE);
    }),
    phases: afterBootstrap('Progressing', 'Failed', 'Progressing', PROMOTION),
    promoted: ['rev-1', 'rev-3'],
    events: ['rolling back: aborted by command', 'promote ignored: the canary is Failed'],
  },
  {
    name: 'retry restarts a Failed canary for the same revision',
    analysis: stepping(50),
    world: { analysis: ['passed', 'failed'] },
    run: (sim) => {
      runToEnd(sim);
      sim.world.analysis = ['passed'];
      sim.observe({ type: 'MANUAL', command: 'retry' });
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Progressing', 'Failed', 'Progressing', PROMOTION),
    promoted: ['rev-1', 'rev-2'],
  },
  {
    name: 'retry asks confirm-rollout again when it is configured',
    analysis: { stepWeight: 50, webhooks: [hook('confirm-rollout')] },
    run: (sim) => {
      start(sim);
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.observe({ type: 'MANUAL', command: 'retry' });
    },
    phases: afterBootstrap('Waiting', 'Progressing', 'Failed', 'Waiting', 'Progressing'),
  },
  {
    name: 'abort while waiting for approval, and promote from Waiting skips the analysis',
    analysis: { stepWeight: 50, webhooks: [hook('confirm-rollout')] },
    world: { hooks: { 'confirm-rollout': false } },
    run: (sim) => {
      start(sim);
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Waiting', 'Failed', 'Waiting', PROMOTION),
    promoted: ['rev-1', 'rev-3'],
  },
  {
    name: 'abort while waiting for promotion, and while promoting',
    ...fromPromotionGate((sim) => {
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      sim.tickUntil(['WaitingPromotion']);
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.observe({ type: 'MANUAL', command: 'abort' });
    }),
    phases: afterBootstrap(GATE_FAILED, 'Progressing', 'WaitingPromotion', 'Promoting', 'Failed'),
  },
  {
    name: 'pause holds the weight while checks go on; resume continues',
    ...fromFirstStep(stepping(25), (sim) => {
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.tick();
      sim.tick();
      expect(sim.last!.status.canaryWeight).toBe(25);
      expect(sim.issued().filter((e) => e.kind === 'runAnalysis')).toHaveLength(2);
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tickUntil(DONE);
    }),
    phases: PROMOTED,
    routes: ['0', '25', '50', '75', '100', '0'],
    check: (sim) =>
      expect(sim.events().filter((m) => m === 'advancement resumed by command')).toHaveLength(1),
  },
  {
    name: 'pause also holds a gate that says yes, and the promotion gate',
    analysis: {
      stepWeight: 50,
      metrics: METRICS,
      webhooks: [hook('confirm-traffic-increase'), hook('confirm-promotion'), hook('confirm-rollout')],
    },
    world: {
      hooks: { 'confirm-traffic-increase': false, 'confirm-rollout': false, 'confirm-promotion': false },
    },
    run: (sim) => {
      start(sim);
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.world.hooks['confirm-rollout'] = true;
      sim.tick();
      expect(sim.phase).toBe('Waiting');
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tick();
      sim.tick(); // confirm-traffic-increase says no
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.world.hooks['confirm-traffic-increase'] = true;
      sim.tick(); // … but the gate is asked only after checks pass, and pause holds
      expect(sim.last!.status.canaryWeight).toBe(0);
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tickUntil(['WaitingPromotion']);
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.world.hooks['confirm-promotion'] = true;
      sim.tick();
      sim.tick();
      expect(sim.phase).toBe('WaitingPromotion');
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Waiting', 'Progressing', 'WaitingPromotion', PROMOTION),
  },
  // ---- What the driver reports for the DORA metrics (§8 of issue 13) ----
  {
    name: 'a retry is a rollout started: rollbacks never outnumber rollouts; time to restore ends at the route write',
    analysis: stepping(50),
    world: { analysis: ['failed', 'failed', 'passed'] },
    run: (sim) => {
      start(sim);
      sim.tickUntil(DONE);
      sim.observe({ type: 'MANUAL', command: 'retry' });
      sim.tickUntil(DONE);
      sim.observe({ type: 'MANUAL', command: 'retry' });
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap('Progressing', 'Failed', 'Progressing', 'Failed', 'Progressing', PROMOTION),
    check: (sim) => {
      const dora = sim.dora();
      expect(dora).toMatchObject({ started: 3, promoted: 1, rolledBack: 2 });
      // The simulation carries out the rollback's route write at once, the primary is ready.
      expect(dora.restoredAfterMs).toEqual([0, 0]);
    },
  },
  {
    name: 'a new revision restarting an analysis is a rollout started; a revision waiting for approval is not',
    world: { hooks: { 'confirm-rollout': false } },
    ...fromFirstStep(stepping(50, { webhooks: [hook('confirm-rollout')] }), (sim) => {
      sim.observe({ type: 'REVISION', revision: 'rev-3' }); // still waiting: the same rollout
      sim.world.hooks['confirm-rollout'] = true;
      sim.tick();
      sim.tick();
      sim.observe({ type: 'REVISION', revision: 'rev-4' }); // restarts the analysis
      sim.tickUntil(DONE);
      expect(sim.dora()).toMatchObject({ started: 2, promoted: 1, rolledBack: 0 });
    }),
    phases: afterBootstrap('Waiting', 'Progressing', PROMOTION),
  },
  // ---- Inconclusive analyses (§9 of issue 13) ----
  {
    name: 'an inconclusive analysis holds the step, counts no failure, notifies once and pauses at the default limit 1; promote ends it',
    analysis: stepping(50),
    world: { analysis: ['inconclusive'] },
    run: (sim) => {
      start(sim);
      sim.tick(); // pre-rollout → 50
      sim.tick(); // inconclusive → paused for a person
      sim.tick();
      sim.tick();
      expect(sim.phase).toBe('Progressing');
      expect(sim.last!.status).toMatchObject({ canaryWeight: 50, failedChecks: 0 });
      expect(sim.snapshot!.context).toMatchObject({ paused: true, gateWaiting: 'inconclusive' });
      expect(sim.last!.status.message).toMatch(/^analysis inconclusive: paused for a person/);
      expect(sim.notifications().filter((m) => m.includes('inconclusive'))).toEqual([
        'analysis inconclusive 1/1, paused for a person (sluice promote, sluice resume or sluice abort): request-success-rate inconclusive',
      ]);
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.tickUntil(DONE);
      expect(sim.snapshot!.context).toMatchObject({
        paused: false,
        gateWaiting: null,
        inconclusiveRounds: 0,
      });
    },
    phases: PROMOTED,
    routes: ['0', '50', '0'],
  },
  {
    name: 'inconclusiveLimit 3: a passing round ends the streak; three in a row pause; resume goes on',
    analysis: stepping(25, { inconclusiveLimit: 3 }),
    world: {
      analysis: [
        'inconclusive',
        'inconclusive',
        'passed',
        'inconclusive',
        'inconclusive',
        'inconclusive',
        'passed',
      ],
    },
    run: (sim) => {
      start(sim);
      sim.tick(); // → 25
      sim.tick(); // inconclusive 1/3
      expect(sim.last!.status.message).toMatch(/^analysis inconclusive 1\/3, holding the step/);
      sim.tick(); // inconclusive 2/3
      expect(sim.last!.status.canaryWeight).toBe(25);
      sim.tick(); // passed → 50, the streak ends
      expect(sim.last!.status.canaryWeight).toBe(50);
      sim.tick();
      sim.tick();
      expect(sim.snapshot!.context).toMatchObject({ paused: false, inconclusiveRounds: 2 });
      sim.tick(); // 3/3 → paused
      sim.tick(); // passes, but paused: the weight holds
      expect(sim.last!.status.canaryWeight).toBe(50);
      expect(sim.snapshot!.context.paused).toBe(true);
      sim.observe({ type: 'MANUAL', command: 'resume' });
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '25', '50', '75', '100', '0'],
    status: { failedChecks: 0 },
    check: (sim) =>
      // Each streak is announced once, and the pause once more: a person has to act.
      expect(sim.notifications().filter((m) => m.includes('inconclusive'))).toEqual([
        'analysis inconclusive 1/3, holding the step: request-success-rate inconclusive',
        'analysis inconclusive 1/3, holding the step: request-success-rate inconclusive',
        'analysis inconclusive 3/3, paused for a person (sluice promote, sluice resume or sluice abort): request-success-rate inconclusive',
      ]),
  },
  {
    name: 'inconclusive while waiting for promotion pauses too; abort rolls back and the next rollout is not paused',
    analysis: stepping(50, { maxWeight: 50, webhooks: [hook('confirm-promotion')] }),
    world: { analysis: ['passed', 'inconclusive', 'passed'], hooks: { 'confirm-promotion': false } },
    run: (sim) => {
      start(sim);
      sim.tick(); // → 50
      sim.tick(); // passed → confirm-promotion says no
      expect(sim.phase).toBe('WaitingPromotion');
      sim.tick(); // inconclusive → paused
      sim.world.hooks['confirm-promotion'] = true;
      sim.tick(); // passed, but paused: the gate is not asked
      expect(sim.phase).toBe('WaitingPromotion');
      expect(sim.snapshot!.context.gateWaiting).toBe('inconclusive');
      sim.observe({ type: 'MANUAL', command: 'abort' });
      expect(sim.snapshot!.context).toMatchObject({ paused: false, gateWaiting: null });
      sim.observe({ type: 'REVISION', revision: 'rev-3' });
      sim.tickUntil(DONE);
    },
    phases: afterBootstrap(GATE_FAILED, 'Progressing', 'WaitingPromotion', PROMOTION),
  },
  {
    name: 'a failed check ends an inconclusive streak',
    world: { analysis: ['inconclusive', 'failed', 'inconclusive', 'passed'] },
    ...fromFirstStep(stepping(50, { threshold: 3, inconclusiveLimit: 2 }), (sim) => {
      sim.tick(); // inconclusive 1/2
      sim.tick(); // failed: the streak ends
      expect(sim.snapshot!.context.inconclusiveRounds).toBe(0);
      sim.tick(); // inconclusive 1/2 again: not paused
      expect(sim.snapshot!.context.paused).toBe(false);
      sim.tickUntil(DONE);
    }),
    phases: PROMOTED,
    status: { failedChecks: 1 },
  },
  {
    name: 'manual promote mid-analysis skips the remaining steps (and ends a pause)',
    ...fromFirstStep(stepping(10), (sim) => {
      sim.tick();
      sim.observe({ type: 'MANUAL', command: 'pause' });
      sim.observe({ type: 'MANUAL', command: 'promote' });
      sim.tickUntil(DONE);
      expect(sim.snapshot!.context.paused).toBe(false);
    }),
    phases: PROMOTED,
    routes: ['0', '10', '20', '0'],
  },
  {
    name: 'commands that do not apply are ignored and reported',
    analysis: { stepWeight: 50 },
    run: (sim) => {
      sim.initialize('rev-1');
      sim.observe({ type: 'MANUAL', command: 'abort' });
      sim.observe({ type: 'MANUAL', command: 'retry' });
    },
    phases: afterBootstrap(),
    events: ['abort ignored: the canary is Initialized', 'retry ignored: the canary is Initialized'],
  },

  // ---- Initialization, time and stale answers ----
  {
    name: 'initialization waits for the primary; a revision change re-creates it',
    analysis: { stepWeight: 50 },
    world: { primary: 'notReady' },
    run: (sim) => {
      sim.initialize('rev-1');
      sim.observe({ type: 'REVISION', revision: 'rev-1' });
      sim.observe({ type: 'REVISION', revision: 'rev-1b' });
      expect(sim.phase).toBe('Initializing');
      sim.observe({ type: 'READINESS', primary: 'ready' });
    },
    phases: afterBootstrap(),
    promoted: ['rev-1', 'rev-1b'],
    status: { lastPromotedSpec: 'rev-1b' },
  },
  {
    name: 'a primary that misses its deadline stalls the bootstrap, which still finishes when it turns ready',
    analysis: { stepWeight: 50 },
    spec: { progressDeadlineSeconds: 60 },
    world: { primary: 'notReady' },
    run: (sim) => {
      sim.initialize('rev-1');
      expect(sim.last!.status.deadlines?.primaryReady).toBe(new Date(sim.now + 60_000).toISOString());
      sim.now += 59_000;
      sim.observe({ type: 'READINESS', primary: 'notReady', primaryMessage: '0 of 1 replicas available' });
      expect(sim.last!.status.message).toBe('creating the primary from the target');
      sim.now += 1000;
      sim.observe({ type: 'READINESS', primary: 'notReady', primaryMessage: '0 of 1 replicas available' });
      expect(sim.phase).toBe('Initializing');
      expect(sim.last!.status.message).toBe(
        'primary not ready within the progress deadline (60s): 0 of 1 replicas available; the bootstrap goes on when it is',
      );
      // Said once; no deadline is left to wake for.
      expect(sim.last!.status.deadlines).toBeUndefined();
      sim.now += 30_000;
      // The why of the deadline stays: later looks read the status alone.
      sim.observe({ type: 'READINESS', primary: 'notReady', primaryMessage: '1 of 1 replicas updated' });
      expect(sim.last!.status.message).toMatch(/\(60s\): 0 of 1 replicas available;/);
      sim.observe({ type: 'READINESS', primary: 'ready' });
    },
    phases: afterBootstrap(),
    events: [
      'primary not ready within the progress deadline (60s): 0 of 1 replicas available; the bootstrap goes on when it is',
      'initialization done',
    ],
    check: (sim) => {
      expect(sim.events().filter((message) => message.startsWith('primary not ready'))).toHaveLength(1);
      expect(sim.notifications()).toContain(
        'primary not ready within the progress deadline (60s): 0 of 1 replicas available; the bootstrap goes on when it is',
      );
    },
  },
  {
    name: 'a primary found failing stalls the bootstrap at once',
    analysis: { stepWeight: 50 },
    world: { primary: 'notReady' },
    run: (sim) => {
      sim.initialize('rev-1');
      sim.now += 5000;
      sim.observe({
        type: 'READINESS',
        primary: 'deadlineExceeded',
        primaryMessage: 'pod p-1 failed: container app exited with code 1',
      });
      expect(sim.phase).toBe('Initializing');
      expect(sim.last!.status.message).toMatch(
        /^primary not ready within the progress deadline \(600s\): pod p-1 failed/,
      );
    },
    phases: ['Initializing'],
  },
  {
    name: 'early ticks and answers to requests nobody waits for change nothing',
    analysis: stepping(50),
    run: (sim) => {
      start(sim);
      sim.now += 1000;
      sim.observe({ type: 'TICK' });
      sim.observe({ type: 'ANALYSIS_RESULT', effectId: 999, outcome: 'failed' });
      sim.observe({ type: 'WEBHOOK_RESULT', effectId: 998, passed: false });
      sim.observe({ type: 'EFFECT_DONE', effectId: 997 });
      sim.tick();
      // A second TICK at the same time (a replay after a crash) must not advance again.
      sim.observe({ type: 'TICK' });
      expect(sim.last!.status.canaryWeight).toBe(50);
      sim.tickUntil(DONE);
    },
    phases: PROMOTED,
    routes: ['0', '50', '100', '0'],
  },
  {
    name: 'a tick while the checks are still unanswered waits for them',
    ...fromFirstStep(stepping(50, { webhooks: [hook('confirm-rollout')] }), (sim) => {
      // Answers lost: the next ticks neither advance nor ask again.
      sim.send({ type: 'READINESS', canary: 'ready' });
      sim.now += 60_000;
      sim.send({ type: 'TICK' });
      const pending = sim.last!.effects.filter((e) => e.kind === 'runAnalysis');
      sim.now += 60_000;
      sim.send({ type: 'TICK' });
      expect(sim.last!.effects.filter((e) => e.kind === 'runAnalysis')).toEqual(pending);
      sim.settle();
      sim.tickUntil(DONE);
    }),
    phases: afterBootstrap('Waiting', 'Progressing', PROMOTION),
    check: () => {
      // While Waiting, a tick with the gate still unanswered does not ask it twice.
      const waiting = simulation({ stepWeight: 50, webhooks: [hook('confirm-rollout')] });
      waiting.initialize('rev-1');
      waiting.send({ type: 'REVISION', revision: 'rev-2' });
      waiting.now += 60_000;
      waiting.send({ type: 'TICK' });
      expect(waiting.last!.effects.filter((e) => e.kind === 'runWebhooks')).toHaveLength(1);
    },
  },
];

describe('canary state machine scenarios', () => {
  it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('%s', (_name, scenario) => {
    const sim = simulation(scenario.analysis, scenario.spec, scenario.world);
    (scenario.run ?? runToEnd)(sim);
    if (scenario.phases) expect(sim.phases()).toEqual(scenario.phases);
    if (scenario.routes) expect(sim.routes()).toEqual(scenario.routes);
    if (scenario.hooks) expect(sim.hooks()).toEqual(scenario.hooks);
    if (scenario.promoted) expect(promotedRevisions(sim)).toEqual(scenario.promoted);
    if (scenario.events) expectInOrder(sim.events(), scenario.events);
    if (scenario.status) expect(sim.last!.status).toMatchObject(scenario.status);
    scenario.check?.(sim);
    // Whatever happened, every route set splits 100% between primary and canary.
    for (const effect of sim.issued()) {
      if (effect.kind === 'setRoutes') expect(effect.primaryWeight + effect.canaryWeight).toBe(100);
    }
  });

  // Runs after the table (tests in a file run in order): the table must walk the whole machine.
  it('the scenarios take every state and every transition of the machine', () => {
    const states = machineStates()
      .filter((state) => state.type !== 'history')
      .map((state) => state.path);
    expect(states.filter((path) => !visitedStates.has(path))).toEqual([]);
    const transitions = machineTransitions().map(
      (t) => `${t.key} ${t.guard ?? ''} → ${t.targets.join(',') || '(stays)'}`,
    );
    expect(transitions.filter((t) => !visitedTransitions.has(t.split(' ')[0]!))).toEqual([]);
    expect(scenarios.length).toBeGreaterThanOrEqual(40);
  });
});
