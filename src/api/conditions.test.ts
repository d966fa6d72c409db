import { describe, expect, it } from 'vitest';
import {
  conditionsForPhase,
  getCondition,
  isConditionTrue,
  removeCondition,
  rfc3339,
  setCondition,
  stalledConditions,
} from './conditions.ts';
import { PHASES, type Phase } from './status.ts';

const t0 = new Date('2025-01-01T10:00:00.123Z');
const t1 = new Date('2025-01-01T10:05:00.000Z');

describe('setCondition', () => {
  it('adds a condition with a second-precision transition time', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Progressing' }, t0);
    expect(list).toEqual([
      { type: 'Ready', status: 'False', reason: 'Progressing', lastTransitionTime: '2025-01-01T10:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when only reason or message change', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Progressing', message: 'a' },
      t0,
    );
    const second = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: 'WaitingForPromotion', message: 'b' },
      t1,
    );
    expect(second[0]).toMatchObject({
      reason: 'WaitingForPromotion',
      message: 'b',
      lastTransitionTime: rfc3339(t0),
    });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Progressing' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'Succeeded' }, t1);
    expect(second[0]?.lastTransitionTime).toBe('2025-01-01T10:05:00Z');
  });

  it('does not change the list it was given and keeps the order of others', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A' }, t0);
    const both = setCondition(first, { type: 'Stalled', status: 'False', reason: 'B' }, t0);
    const updated = setCondition(both, { type: 'Ready', status: 'True', reason: 'C' }, t1);
    expect(first).toHaveLength(1);
    expect(updated.map((c) => c.type)).toEqual(['Ready', 'Stalled']);
    expect(getCondition(updated, 'Ready')?.reason).toBe('C');
    expect(isConditionTrue(updated, 'Ready')).toBe(true);
    expect(removeCondition(updated, 'Ready').map((c) => c.type)).toEqual(['Stalled']);
  });
});

describe('conditionsForPhase (kstatus mapping)', () => {
  const expected: Record<Phase, [ready: string, stalled: string, reconciling: string]> = {
    Initializing: ['False', 'False', 'True'],
    Initialized: ['True', 'False', 'False'],
    Waiting: ['False', 'False', 'True'],
    Progressing: ['False', 'False', 'True'],
    WaitingPromotion: ['False', 'False', 'True'],
    Promoting: ['False', 'False', 'True'],
    Finalising: ['False', 'False', 'True'],
    Succeeded: ['True', 'False', 'False'],
    Failed: ['False', 'True', 'False'],
    Terminating: ['False', 'False', 'True'],
    Terminated: ['False', 'False', 'False'],
  };

  it.each(PHASES)('%s', (phase) => {
    const conditions = conditionsForPhase(undefined, { phase, generation: 3, now: t0 });
    const status = (type: string) => getCondition(conditions, type)?.status;
    expect([status('Ready'), status('Stalled'), status('Reconciling')]).toEqual(expected[phase]);
    expect(conditions.every((c) => c.observedGeneration === 3)).toBe(true);
  });

  it('carries the message on Ready and on the condition that is True', () => {
    const conditions = conditionsForPhase(undefined, {
      phase: 'Failed',
      message: 'Canary analysis failed',
      now: t0,
    });
    expect(getCondition(conditions, 'Ready')?.message).toBe('Canary analysis failed');
    expect(getCondition(conditions, 'Stalled')).toMatchObject({
      reason: 'Failed',
      message: 'Canary analysis failed',
    });
  });

  it('marks a phase that is not itself stalled Stalled when asked (a bootstrap past its deadline)', () => {
    const conditions = conditionsForPhase(undefined, {
      phase: 'Initializing',
      reason: 'PrimaryNotReady',
      stalled: true,
      message: 'primary not ready within the progress deadline (600s)',
      now: t0,
    });
    expect(getCondition(conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'PrimaryNotReady' });
    expect(getCondition(conditions, 'Reconciling')?.status).toBe('False');
    expect(getCondition(conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'PrimaryNotReady' });
  });

  it('keeps Ready transition time while the canary moves between in-progress phases', () => {
    const progressing = conditionsForPhase(undefined, { phase: 'Progressing', now: t0 });
    const promoting = conditionsForPhase(progressing, { phase: 'Promoting', now: t1 });
    expect(getCondition(promoting, 'Ready')?.lastTransitionTime).toBe(rfc3339(t0));
    const succeeded = conditionsForPhase(promoting, { phase: 'Succeeded', now: t1 });
    expect(getCondition(succeeded, 'Ready')?.lastTransitionTime).toBe(rfc3339(t1));
  });
});

describe('stalledConditions', () => {
  it('marks an invalid spec Stalled with a message naming the fields', () => {
    const conditions = stalledConditions(undefined, {
      issues: [
        {
          path: 'spec.analysis.stepWeight',
          message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
        },
        { path: 'spec.service.port', message: 'must be >= 1 (got 0)' },
      ],
      generation: 2,
      now: t0,
    });
    expect(getCondition(conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      observedGeneration: 2,
      message:
        'spec.analysis.stepWeight must be <= spec.analysis.maxWeight; spec.service.port: must be >= 1 (got 0)',
    });
    expect(getCondition(conditions, 'Ready')?.status).toBe('False');
    expect(getCondition(conditions, 'Reconciling')?.status).toBe('False');
  });

  it('takes the reason from the issues when they carry one (a spec its provider cannot route)', () => {
    const conditions = stalledConditions(undefined, {
      issues: [
        {
          path: 'spec.analysis.mirror',
          message: 'provider smi:v1alpha2 cannot mirror traffic to the canary',
          reason: 'UnsupportedByProvider',
        },
      ],
      now: t0,
    });
    expect(getCondition(conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'UnsupportedByProvider',
    });
    expect(getCondition(conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'UnsupportedByProvider',
    });
  });
});
