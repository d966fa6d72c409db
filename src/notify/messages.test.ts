import { describe, expect, it } from 'vitest';
import { describeMoment, formatNumber } from './messages.ts';

describe('describeMoment', () => {
  it('words the moments a person wants to read', () => {
    expect(describeMoment({ kind: 'new-revision' }).message).toBe(
      'new revision detected, starting canary analysis',
    );
    expect(describeMoment({ kind: 'advance', weight: 20 }).message).toBe('advance 20%');
    expect(
      describeMoment({ kind: 'halt', metric: 'request-success-rate', value: 93.1, min: 99 }).message,
    ).toBe('halt: request-success-rate 93.1% < 99%');
    expect(describeMoment({ kind: 'rolled-back', cause: 'failed-checks', failedChecks: 5 }).message).toBe(
      'rolled back: failed checks threshold reached (5)',
    );
    expect(describeMoment({ kind: 'promotion-completed' }).message).toBe('promotion completed');
  });

  it('formats latency above a maximum and missing values', () => {
    expect(
      describeMoment({ kind: 'halt', metric: 'request-duration', value: 612.456, max: 500 }).message,
    ).toBe('halt: request-duration 612.46ms > 500ms');
    expect(describeMoment({ kind: 'halt', metric: 'errors', value: 3, max: 1, unit: '' }).message).toBe(
      'halt: errors 3 > 1',
    );
    expect(describeMoment({ kind: 'halt', metric: 'request-success-rate' }).message).toBe(
      'halt: request-success-rate returned no values',
    );
  });

  it('grades severity and Event type: info for progress, warn for checks and gates, error for rollbacks', () => {
    expect(describeMoment({ kind: 'advance', weight: 5 })).toMatchObject({
      severity: 'info',
      eventType: 'Normal',
    });
    expect(describeMoment({ kind: 'halt', metric: 'm', value: 1, max: 0 })).toMatchObject({
      severity: 'warn',
      eventType: 'Warning',
      reason: 'Halt',
    });
    expect(
      describeMoment({ kind: 'waiting-approval', hook: 'gate', hookType: 'confirm-promotion' }),
    ).toMatchObject({
      message: 'waiting for approval: confirm-promotion gate gate',
      severity: 'warn',
      eventType: 'Normal',
    });
    expect(describeMoment({ kind: 'rolled-back', cause: 'aborted', by: 'alice' })).toMatchObject({
      message: 'rolled back: aborted by alice',
      severity: 'error',
      eventType: 'Warning',
      reason: 'RolledBack',
    });
  });
});

describe('formatNumber', () => {
  it('keeps at most two decimals', () => {
    expect([formatNumber(99), formatNumber(93.1), formatNumber(0.125), formatNumber(99.999)]).toEqual([
      '99',
      '93.1',
      '0.13',
      '100',
    ]);
  });
});
