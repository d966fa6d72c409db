import { describe, expect, it } from 'vitest';
import {
  analysisEntries,
  eventEntry,
  mergeTimeline,
  metricLimits,
  observedChanges,
  summarize,
  verdictOf,
} from './model.ts';
import { compareSummaries, filterSummaries } from './order.ts';

const spec = {
  targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
  service: { port: 9898 },
  provider: 'istio',
  analysis: {
    interval: '10s',
    threshold: 2,
    stepWeights: [20, 40, 60],
    metrics: [{ name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }],
  },
};

const canary = (name: string, status: Record<string, unknown>, namespace = 'prod') => ({
  metadata: { name, namespace },
  spec,
  status,
});

describe('dashboard model', () => {
  it('summarizes phase, weight, step, failed checks and message', () => {
    const s = summarize(
      canary('podinfo', {
        phase: 'Progressing',
        canaryWeight: 40,
        failedChecks: 1,
        message: 'advance canary weight 40',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        machine: { cursor: 3, paused: true, gateWaiting: 'confirm-promotion' },
      }),
    );
    expect(s).toMatchObject({
      key: 'prod/podinfo',
      phase: 'Progressing',
      weight: 40,
      maxWeight: 60,
      stepWeights: [20, 40, 60],
      step: 2,
      failedChecks: 1,
      threshold: 2,
      failing: true,
      paused: true,
      waitingFor: 'confirm-promotion',
      strategy: 'canary',
      provider: 'istio',
      target: 'Deployment/podinfo',
      verdict: null,
    });
  });

  it('shows a canary paused for a person after an inconclusive analysis, and the inconclusive check', () => {
    const status = {
      phase: 'Progressing',
      canaryWeight: 20,
      machine: { cursor: 2, paused: true, gateWaiting: 'inconclusive' },
      lastAnalysis: [
        { name: 'latency', value: 300, passed: false, inconclusive: true, reason: 'inconclusive' },
      ],
    };
    expect(summarize(canary('podinfo', status))).toMatchObject({ paused: true, waitingFor: 'inconclusive' });
    expect(analysisEntries(status)).toEqual([
      { name: 'latency', value: 300, passed: false, inconclusive: true, reason: 'inconclusive', extra: {} },
    ]);
  });

  it('summarizes a canary without status or with an invalid spec without throwing', () => {
    expect(summarize({ metadata: { name: 'x', namespace: 'y' }, spec: { nonsense: true } })).toMatchObject({
      phase: 'Pending',
      weight: 0,
      step: 0,
      failing: false,
      target: '',
    });
  });

  it('reads the judge fields of lastAnalysis when present, whatever their shape', () => {
    const entries = analysisEntries({
      lastAnalysis: [
        { name: 'request-success-rate', value: 99.5, threshold: 'min 99', passed: true },
        {
          name: 'latency',
          passed: false,
          canary: { estimate: 120 },
          primary: 98,
          effect: { value: 0.22, interval: { lower: 0.12, upper: 0.31 } },
          evidence: 'Mann-Whitney U p=0.003',
          samples: 480,
        },
        { passed: true },
      ],
    });
    expect(entries).toEqual([
      { name: 'request-success-rate', value: 99.5, threshold: 'min 99', passed: true, extra: {} },
      {
        name: 'latency',
        passed: false,
        canary: 120,
        primary: 98,
        effect: 0.22,
        interval: [0.12, 0.31],
        evidence: 'Mann-Whitney U p=0.003',
        extra: { samples: '480' },
      },
    ]);
    expect(verdictOf(entries)).toEqual({
      passed: false,
      text: 'regression: latency canary 120 vs primary 98, interval 0.12 … 0.31',
    });
    expect(verdictOf(entries.slice(0, 1))).toBeNull();
  });

  it('takes the limit of each metric from its thresholdRange', () => {
    expect(metricLimits(canary('a', {}))).toEqual({ 'request-success-rate': { min: 99 } });
  });

  it('orders failing canaries first, then those in flight, and filters by namespace and phase', () => {
    const list = [
      summarize(canary('done', { phase: 'Succeeded' })),
      summarize(canary('moving', { phase: 'Progressing', canaryWeight: 20 })),
      summarize(canary('broken', { phase: 'Failed' }, 'dev')),
    ];
    expect([...list].sort(compareSummaries).map((s) => s.name)).toEqual(['broken', 'moving', 'done']);
    expect(filterSummaries(list, { namespace: 'prod' }).map((s) => s.name)).toEqual(['moving', 'done']);
    expect(filterSummaries(list, { phase: 'Failed' }).map((s) => s.name)).toEqual(['broken']);
  });

  it('turns Events into timeline entries with who acted, gates marked as gates', () => {
    const entry = eventEntry({
      metadata: { name: 'e', annotations: { 'sluice.dev/actor': 'alice (U1)' } },
      reason: 'GateOpened',
      type: 'Normal',
      message: 'confirm-promotion gate opened by alice',
      lastTimestamp: '2026-01-01T00:00:01Z',
      count: 2,
    });
    expect(entry).toEqual({
      at: '2026-01-01T00:00:01Z',
      kind: 'gate',
      type: 'Normal',
      reason: 'GateOpened',
      message: 'confirm-promotion gate opened by alice',
      count: 2,
      by: 'alice (U1)',
    });
    expect(
      eventEntry({
        metadata: { name: 'w' },
        reason: 'WebhookCalled',
        message: 'confirm-rollout webhook gate (gate closed): 403',
      }).kind,
    ).toBe('gate');
    expect(
      eventEntry({ metadata: { name: 'w' }, reason: 'WebhookCalled', message: 'rollout webhook load: ok' })
        .kind,
    ).toBe('webhook');
  });

  it('notices a gate answered and a command handled between two statuses', () => {
    const at = '2026-01-01T00:00:05Z';
    const before = { machine: { round: { gate: { id: 7, type: 'confirm-promotion', passed: null } } } };
    const after = {
      machine: { round: { gate: { id: 7, type: 'confirm-promotion', passed: true } } },
      lastCommand: { id: 'c1', command: 'pause', handledAt: '2026-01-01T00:00:04Z', result: 'accepted' },
    };
    expect(observedChanges(before, after, at)).toEqual([
      expect.objectContaining({
        kind: 'gate',
        reason: 'GateOpen',
        message: 'confirm-promotion gate open: approved',
      }),
      expect.objectContaining({ kind: 'command', at: '2026-01-01T00:00:04Z', message: 'pause: accepted' }),
    ]);
    expect(observedChanges(after, after, at)).toEqual([]);
  });

  it('merges timelines in time order, each entry once', () => {
    const a = {
      at: '2026-01-01T00:00:02Z',
      kind: 'event' as const,
      type: 'Normal' as const,
      reason: 'B',
      message: 'b',
      count: 1,
    };
    const b = { ...a, at: '2026-01-01T00:00:01Z', reason: 'A', message: 'a' };
    expect(mergeTimeline([a], [b, a]).map((e) => e.reason)).toEqual(['A', 'B']);
  });
});
