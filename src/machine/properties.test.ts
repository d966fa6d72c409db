import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { CanaryAnalysis, HOOK_TYPES, type HookType } from '../api/canary.ts';
import { step, stepAll, type StepResult } from './driver.ts';
import { canaryMachine } from './machine.ts';
import { planFromSpec, planKey, type Plan } from './plan.ts';
import { sameRoutes, type Routes } from '../api/routes.ts';
import type { AnalysisOutcome, Effect, ManualCommand, Observation, Readiness } from './types.ts';

// Random observation sequences against random Canaries. Whatever arrives, in whatever
// order, the invariants hold, and persisting/restoring anywhere changes nothing.

const NUM_RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 300);
const T0 = Date.UTC(2025, 0, 1);
const MINUTE = 60_000;

// ---- Random Canaries (valid for the API schema) ----

const webhooks = fc
  .subarray([...HOOK_TYPES])
  .map((types) => types.map((type) => ({ name: `${type}-hook`, type, url: `http://hooks.test/${type}` })));

const canaryShape = fc.oneof(
  fc
    .integer({ min: 5, max: 60 })
    .chain((stepWeight) =>
      fc.integer({ min: stepWeight, max: 100 }).map((maxWeight) => ({ stepWeight, maxWeight })),
    ),
  fc
    .uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 })
    .map((weights) => ({ stepWeights: [...weights].sort((a, b) => a - b) })),
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0, max: 100 }).map((setWeight) => ({ setWeight })),
        fc.constantFrom({ pause: { duration: '30s' } }, { pause: { duration: '3m' } }, { pause: {} }),
        fc.constant({ analysis: {} }),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((steps) => ({ steps })),
);

const analysisArb = fc
  .record({
    shape: fc.oneof(
      { weight: 3, arbitrary: canaryShape.map((shape) => ({ kind: 'canary' as const, ...shape })) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 4 }).map((iterations) => ({ kind: 'ab' as const, iterations })),
      },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 4 }).map((iterations) => ({ kind: 'bg' as const, iterations })),
      },
    ),
    mirror: fc.boolean(),
    threshold: fc.integer({ min: 1, max: 4 }),
    inconclusiveLimit: fc.integer({ min: 1, max: 3 }),
    stepWeightPromotion: fc.option(fc.integer({ min: 10, max: 60 }), { nil: undefined }),
    metrics: fc
      .constantFrom('none', 'check', 'failFast')
      .map((kind) =>
        kind === 'none'
          ? []
          : [{ name: 'request-success-rate', ...(kind === 'failFast' ? { failFast: true } : {}) }],
      ),
    // The judge, and the looks between rounds it (or a failFast metric) asks for.
    judge: fc.boolean(),
    webhooks,
  })
  .map(({ shape, mirror, judge, ...rest }) => {
    const { kind, ...fields } = shape;
    const base = { ...rest, ...fields, interval: '1m', ...(judge ? { judge: {}, checkEvery: '10s' } : {}) };
    if (kind === 'ab') return { ...base, match: [{ headers: { 'x-canary': { exact: 'yes' } } }] };
    return { ...base, ...(mirror ? { mirror } : {}) };
  })
  .map((analysis) => CanaryAnalysis.parse(analysis));

// ---- Random observations, resolved against the machine's pending effects ----

type Command =
  /** One interval as a healthy controller sees it: readiness, a tick, every request answered. */
  | { k: 'interval'; good: boolean }
  | { k: 'tick'; ms: number }
  | { k: 'ready'; canary: Readiness | undefined; primary: Readiness | undefined }
  | { k: 'revision'; revision: string }
  | {
      k: 'answer';
      pick: number;
      passed: boolean;
      outcome: AnalysisOutcome;
      /** A look finds, or an analysis carries, a decisive regression. */
      decisive: boolean;
    }
  | { k: 'answerAll'; good: boolean }
  | { k: 'manual'; command: ManualCommand }
  | { k: 'flags'; suspend: boolean; skipAnalysis: boolean }
  | { k: 'stale'; effectId: number };

const readiness = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Readiness | undefined>('ready') },
  { weight: 3, arbitrary: fc.constantFrom<Readiness | undefined>('notReady', undefined) },
  { weight: 1, arbitrary: fc.constant<Readiness | undefined>('deadlineExceeded') },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.integer({ min: 0, max: 5 }).map((n) => ({ k: 'interval' as const, good: n > 0 })),
  },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(1000, 10_000, 10_000, MINUTE, MINUTE, 2 * MINUTE, 5 * MINUTE)
      .map((ms) => ({ k: 'tick' as const, ms })),
  },
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant('ready' as const), canary: readiness, primary: readiness }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('rev-1', 'rev-2', 'rev-3', 'rev-4')
      .map((revision) => ({ k: 'revision' as const, revision })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('answer' as const),
      pick: fc.nat(20),
      passed: fc.boolean(),
      outcome: fc.constantFrom(
        'passed' as const,
        'passed' as const,
        'failed' as const,
        'noData' as const,
        'inconclusive' as const,
      ),
      decisive: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.integer({ min: 0, max: 4 }).map((n) => ({ k: 'answerAll' as const, good: n > 0 })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<ManualCommand>('promote', 'abort', 'pause', 'resume', 'retry')
      .map((c) => ({ k: 'manual' as const, command: c })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('flags' as const),
      suspend: fc.boolean(),
      skipAnalysis: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.nat(200).map((effectId) => ({ k: 'stale' as const, effectId })) },
);

function answerFor(
  effect: Effect,
  now: number,
  passed: boolean,
  outcome: AnalysisOutcome,
  decisive = false,
): Observation {
  if (effect.kind === 'runAnalysis') {
    const rollback = decisive && outcome === 'failed' ? { rollback: 'judge: errors: regression' } : {};
    return { type: 'ANALYSIS_RESULT', now, effectId: effect.id, outcome, ...rollback };
  }
  if (effect.kind === 'runLook') {
    return {
      type: 'LOOK_RESULT',
      now,
      effectId: effect.id,
      ...(decisive ? { rollback: 'judge: regression' } : {}),
    };
  }
  if (effect.kind === 'runWebhooks') {
    return { type: 'WEBHOOK_RESULT', now, effectId: effect.id, passed, name: `${effect.type}-hook` };
  }
  return { type: 'EFFECT_DONE', now, effectId: effect.id };
}

function defaultAnswer(effect: Effect, now: number, good: boolean): Observation {
  // A rollback hook answering 2xx ends the run at once; only targeted answers fire it.
  const passed = effect.kind === 'runWebhooks' && effect.type === 'rollback' ? false : good;
  return answerFor(effect, now, passed, good ? 'passed' : 'failed', effect.kind === 'runLook' && !good);
}

interface Trace {
  entries: Array<{ observation: Observation; plan: Plan }>;
  results: StepResult[];
  violations: string[];
  /** Promotions decided by the analysis (not a command or skipAnalysis) whose last analysis was checked. */
  checkedPromotions: number;
}

/** Runs commands through the driver (persisting through JSON every time) and checks the invariants after each step. */
function run(analysis: CanaryAnalysis, commands: Command[]): Trace {
  const planWith = (flags: { suspend: boolean; skipAnalysis: boolean }) =>
    planFromSpec({ analysis, progressDeadlineSeconds: 300, ...flags });
  let plan = planWith({ suspend: false, skipAnalysis: false });
  const trace: Trace = { entries: [], results: [], violations: [], checkedPromotions: 0 };
  let snapshot: unknown;
  let last: StepResult | undefined;
  let now = T0;
  // Invariant bookkeeping, from the outside.
  let failedRevision: string | null = null;
  const analysisRoutes = new Map<number, Routes>();
  let lastAnswered: { outcome: string; routes: Routes } | null = null;
  /** The primary's readiness as last reported during this rollout said it was not ready. */
  let primaryDown = false;
  const analysing = (phase: string | undefined) => phase === 'Progressing' || phase === 'WaitingPromotion';

  const send = (observation: Observation): void => {
    const pendingBefore = last?.effects ?? [];
    const phaseBefore = last?.status.phase;
    const weightBefore = last?.routes.canaryWeight ?? 0;
    const result = step(
      snapshot === undefined ? undefined : JSON.parse(JSON.stringify(snapshot)),
      plan,
      observation,
    );
    snapshot = result.snapshot;
    last = result;
    trace.entries.push({ observation, plan });
    trace.results.push(result);
    const context = result.snapshot.context;
    const fail = (message: string) =>
      trace.violations.push(`${message} after ${JSON.stringify(observation)}`);

    if (observation.type === 'ANALYSIS_RESULT' && pendingBefore.some((e) => e.id === observation.effectId)) {
      lastAnswered = { outcome: observation.outcome, routes: analysisRoutes.get(observation.effectId)! };
    }
    if (
      observation.type === 'REVISION' &&
      failedRevision !== null &&
      observation.revision !== failedRevision
    ) {
      failedRevision = null;
    }
    if (observation.type === 'MANUAL' && observation.command === 'retry') failedRevision = null;

    // A route write the router has not confirmed holds the program: nothing raises traffic past it.
    const unconfirmedRoutes = pendingBefore.find(
      (e) => e.kind === 'setRoutes' && !(observation.type === 'EFFECT_DONE' && observation.effectId === e.id),
    );
    // A rollout starts with what it learns from now on; readiness reported while analysing counts.
    if (!analysing(phaseBefore) && analysing(result.status.phase)) primaryDown = false;
    if (observation.type === 'READINESS' && observation.primary && analysing(phaseBefore))
      primaryDown = observation.primary !== 'ready';
    for (const effect of result.issued) {
      // No step moves traffic while the primary, the one fallback, is not ready.
      if (
        effect.kind === 'setRoutes' &&
        primaryDown &&
        analysing(result.status.phase) &&
        effect.canaryWeight > weightBefore
      ) {
        fail(`canary weight ${effect.canaryWeight} asked for while the primary is not ready`);
      }
      if (
        effect.kind === 'setRoutes' &&
        unconfirmedRoutes?.kind === 'setRoutes' &&
        effect.canaryWeight > unconfirmedRoutes.canaryWeight
      ) {
        fail(
          `canary weight ${effect.canaryWeight} asked for while ${unconfirmedRoutes.canaryWeight} is unconfirmed`,
        );
      }
      if (effect.kind === 'runAnalysis') analysisRoutes.set(effect.id, { ...context.routes });
      if (effect.kind === 'setRoutes') {
        const { primaryWeight: p, canaryWeight: c } = effect;
        if (p + c !== 100 || !Number.isInteger(c) || c < 0 || c > 100)
          fail(`routes ${p}/${c} do not add up to 100`);
        if (effect.mirror && c !== 0) fail(`mirroring with canary weight ${c}`);
        const promoting = result.status.phase === 'Promoting';
        if (plan.strategy === 'canary' && c > plan.maxWeight)
          fail(`canary weight ${c} above maxWeight ${plan.maxWeight}`);
        if (plan.strategy === 'abTesting' && !((effect.match && c === 100) || (!effect.match && c === 0))) {
          fail(`A/B routes ${c}% match=${effect.match}`);
        }
        if (plan.strategy === 'blueGreen') {
          const switched = context.cursor > plan.steps.findIndex((s) => s.kind === 'confirmPromotion');
          if (c !== 0 && c !== 100 && !promoting) fail(`blue/green weight ${c} outside promotion`);
          if (c === 100 && !switched && !promoting)
            fail('blue/green switched before its iterations were done');
        }
      }
      if (effect.kind === 'promote') {
        if (failedRevision !== null) fail(`promoted ${effect.revision} while Failed for ${failedRevision}`);
        const automatic = result.issued.some(
          (e) => e.kind === 'recordEvent' && e.message.startsWith('analysis passed'),
        );
        if (automatic && plan.hasMetrics) {
          const answered = lastAnswered as { outcome: string; routes: Routes } | null;
          trace.checkedPromotions += 1;
          if (!answered || answered.outcome !== 'passed') fail('promoted without a passing analysis');
          else if (!sameRoutes(answered.routes, context.routes))
            fail('promoted after an analysis at other routes');
        }
      }
    }
    // Looks between rounds: asked only while analysing, and a decisive one rolls back at once.
    if (result.effects.some((e) => e.kind === 'runLook') && !analysing(result.status.phase))
      fail(`a look pending in ${result.status.phase}`);
    if (
      observation.type === 'LOOK_RESULT' &&
      observation.rollback &&
      pendingBefore.some((e) => e.id === observation.effectId) &&
      analysing(phaseBefore) &&
      result.status.phase !== 'Failed'
    ) {
      fail('a decisive look did not roll back');
    }
    if (result.status.phase === 'Failed' && phaseBefore !== 'Failed') failedRevision = context.revision;
    const size = JSON.stringify(result.snapshot).length;
    if (size > 4096) fail(`snapshot of ${size} characters`);
    if (result.status.canaryWeight < 0 || result.status.canaryWeight > 100)
      fail('status weight out of range');
  };

  const answerAll = (good: boolean) => {
    for (let guard = 0; guard < 50; guard++) {
      const next = last?.effects[0];
      if (!next) return;
      send(defaultAnswer(next, now, good));
    }
  };

  send({ type: 'REVISION', now, revision: 'rev-1' });
  answerAll(true);
  send({ type: 'READINESS', now, primary: 'ready' });
  answerAll(true);
  send({ type: 'REVISION', now, revision: 'rev-2' });
  answerAll(true);
  for (const c of commands) {
    switch (c.k) {
      case 'interval':
        now += MINUTE;
        send({ type: 'READINESS', now, canary: 'ready', primary: 'ready' });
        answerAll(true);
        send({ type: 'TICK', now });
        answerAll(c.good);
        break;
      case 'tick':
        now += c.ms;
        send({ type: 'TICK', now });
        break;
      case 'ready':
        send({
          type: 'READINESS',
          now,
          ...(c.canary ? { canary: c.canary } : {}),
          ...(c.primary ? { primary: c.primary } : {}),
        });
        break;
      case 'revision':
        send({ type: 'REVISION', now, revision: c.revision });
        break;
      case 'answer': {
        const effects = last?.effects ?? [];
        const target = effects[c.pick % Math.max(1, effects.length)];
        if (target) send(answerFor(target, now, c.passed, c.outcome, c.decisive));
        break;
      }
      case 'answerAll':
        answerAll(c.good);
        break;
      case 'manual':
        send({ type: 'MANUAL', now, command: c.command });
        break;
      case 'flags':
        plan = planWith(c);
        send({ type: 'SPEC_CHANGED', now });
        break;
      case 'stale':
        send({ type: 'EFFECT_DONE', now, effectId: c.effectId + 1000 });
        break;
    }
  }
  return trace;
}

/** The same observations through one live actor that is never persisted. */
function runLive(entries: Trace['entries']): unknown {
  const actor = createActor(canaryMachine, { input: { now: entries[0]!.observation.now } }).start();
  for (const { observation, plan } of entries) {
    if (observation.type !== 'SPEC_CHANGED' && actor.getSnapshot().context.planKey !== planKey(plan)) {
      actor.send({ type: 'SPEC_CHANGED', now: observation.now, plan });
    }
    actor.send({ ...observation, plan });
  }
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
  actor.stop();
  return persisted;
}

/** The same observations in chunks cut at `cuts` (and wherever the plan changes), persisting between chunks. */
function runChunked(entries: Trace['entries'], cuts: number[]): unknown {
  const boundaries = new Set(cuts.map((cut) => cut % entries.length));
  let snapshot: unknown;
  let chunk: Observation[] = [];
  let plan = entries[0]!.plan;
  const flush = () => {
    if (chunk.length === 0) return;
    snapshot = JSON.parse(JSON.stringify(stepAll(snapshot, plan, chunk).snapshot));
    chunk = [];
  };
  entries.forEach((entry, i) => {
    if (boundaries.has(i) || entry.plan !== plan) flush();
    plan = entry.plan;
    chunk.push(entry.observation);
  });
  flush();
  return snapshot;
}

const commands = fc.array(command, { minLength: 1, maxLength: 80 });

describe('canary state machine properties', () => {
  it('holds its invariants over random observation sequences', () => {
    const seen = { Succeeded: 0, Failed: 0, WaitingPromotion: 0, Promoting: 0, checkedPromotions: 0 };
    fc.assert(
      fc.property(analysisArb, commands, (analysis, cmds) => {
        const trace = run(analysis, cmds);
        seen.checkedPromotions += trace.checkedPromotions;
        for (const result of trace.results) {
          const phase = result.status.phase;
          if (phase in seen) seen[phase as keyof typeof seen] += 1;
        }
        expect(trace.violations).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
    // The sequences are not all stuck at the start: they reach every outcome and promote on their own.
    for (const [phase, count] of Object.entries(seen)) expect(count, phase).toBeGreaterThan(0);
  });

  it('persisting and restoring at any point and continuing gives the same outcome as running straight through', () => {
    fc.assert(
      fc.property(analysisArb, commands, fc.array(fc.nat(), { maxLength: 8 }), (analysis, cmds, cuts) => {
        const trace = run(analysis, cmds);
        const eventByEvent = trace.results.at(-1)!.snapshot;
        expect(runLive(trace.entries)).toEqual(eventByEvent);
        expect(runChunked(trace.entries, cuts)).toEqual(eventByEvent);
      }),
      { numRuns: Math.max(50, Math.floor(NUM_RUNS / 2)) },
    );
  });

  it('stepWeight/maxWeight plans climb strictly and stop exactly at maxWeight', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (a, b) => {
        const [stepWeight, maxWeight] = a <= b ? [a, b] : [b, a];
        const plan = planFromSpec({ analysis: CanaryAnalysis.parse({ stepWeight, maxWeight }) });
        const weights = plan.steps.flatMap((s) => (s.kind === 'setWeight' ? [s.weight] : []));
        expect(Math.max(...weights)).toBe(maxWeight);
        expect(weights.every((w, i) => i === 0 || w > weights[i - 1]!)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// Type-level: the hook names the plan exposes are the API's.
const _hookTypes: readonly HookType[] = HOOK_TYPES;
