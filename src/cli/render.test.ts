import { describe, expect, it } from 'vitest';
import { age, isTerminal, renderStatus, renderTable, weightBar, type CanaryView } from './render.ts';

const now = Date.parse('2026-11-22T10:00:00Z');

const canary: CanaryView = {
  metadata: { name: 'podinfo', namespace: 'test' },
  spec: {
    provider: 'istio',
    targetRef: { kind: 'Deployment', name: 'podinfo' },
    analysis: { maxWeight: 50, threshold: 5, interval: '30s' },
  },
  status: {
    phase: 'Progressing',
    canaryWeight: 20,
    failedChecks: 1,
    lastTransitionTime: '2026-11-22T09:58:00Z',
    nextStepAt: '2026-11-22T10:00:12Z',
    lastAppliedSpec: '7f9c1a2b3c4d5e',
    lastPromotedSpec: '1a2b3c4d5e6f7a',
    lastAnalysis: [
      { name: 'request-success-rate', value: 99.87, threshold: '>= 99', passed: true },
      { name: 'request-duration', value: 812, threshold: '<= 500', passed: false, reason: '812 > 500' },
    ],
    judge: {
      revision: '7f9c1a2b3c4d5e',
      lookedAt: '2026-11-22T09:59:50Z',
      state: {},
      verdicts: [
        {
          name: 'errors',
          outcome: 'fail',
          canary: '1.417',
          primary: '0.5',
          effect: '2.94 [1.04, 7.11]',
          bayesFactor: '145',
          reason:
            'errors: canary 1.417 % (17/1200) vs primary 0.5 % (54/10800); rate canary/primary 2.94× [1.04×, 7.11×], limit 1.00×; Bayes factor 145 (needs 100), p ≤ 0.0069: regression (increase)',
        },
        { name: 'latency', outcome: 'undecided', reason: 'latency: canary p99 80 ms vs primary p99 78 ms' },
      ],
    },
  },
};

describe('renderTable', () => {
  it('shows phase, weight, failed checks and age', () => {
    const table = renderTable([canary], now, false);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+SHARD\s+PHASE\s+WEIGHT\s+FAILED\s+LAST TRANSITION/);
    expect(table).toMatch(/podinfo\s+-\s+Progressing\s+20%\s+1\/5\s+2m/);
  });

  it("shows each Canary's shard, and a handover the old shard has not finished", () => {
    const sharded = (shard: string | undefined, heldBy: { shard?: string } | undefined): CanaryView => ({
      ...canary,
      metadata: { ...canary.metadata, ...(shard ? { labels: { 'sluice.dev/shard': shard } } : {}) },
      status: { ...canary.status, ...(heldBy ? { heldBy } : {}) },
    });
    const rows = renderTable(
      [sharded('eu-1', { shard: 'eu-1' }), sharded('eu-2', {}), sharded(undefined, undefined)],
      now,
      false,
    ).split('\n');
    expect(rows[1]).toMatch(/^podinfo\s+eu-1\s+Progressing/);
    expect(rows[2]).toMatch(/^podinfo\s+eu-2 \(handing over\)\s+Progressing/);
    expect(rows[3]).toMatch(/^podinfo\s+-\s+Progressing/);
  });

  it('says so when there are none', () => {
    expect(renderTable([], now, true)).toBe('No canaries found.');
  });
});

describe('renderStatus', () => {
  it('shows the weight bar, checks, next step, analysis and events', () => {
    const screen = renderStatus(
      canary,
      [{ type: 'Normal', message: 'advance canary weight 20', time: '2026-11-22T09:59:30Z' }],
      now,
    );
    expect(screen).toContain('test/podinfo');
    expect(screen).toContain('canary 20%  primary 80%  (max 50%)');
    expect(screen).toContain('failed 1/5');
    expect(screen).toContain('in 12s');
    expect(screen).toMatch(/✔ request-success-rate\s+99\.87\s+>= 99/);
    expect(screen).toMatch(/✖ request-duration\s+812\s+<= 500\s+812 > 500/);
    expect(screen).toContain('09:59:30  Normal   advance canary weight 20');
  });

  it("shows the judge's verdicts: both arms, the effect with its interval, the evidence", () => {
    const screen = renderStatus(canary, [], now);
    expect(screen).toContain('Judge      (revision 7f9c1a2b3c, looked at 09:59:50)');
    expect(screen).toContain(
      '  ✖ fail  errors: canary 1.417 % (17/1200) vs primary 0.5 % (54/10800); rate canary/primary 2.94× [1.04×, 7.11×], limit 1.00×; Bayes factor 145 (needs 100)',
    );
    expect(screen).toContain('  … undecided  latency: canary p99 80 ms vs primary p99 78 ms');
  });

  it('marks an inconclusive check and shows the pause waiting for a person', () => {
    const message =
      'analysis inconclusive: paused for a person (sluice promote, sluice resume or sluice abort); checks go on';
    const screen = renderStatus(
      {
        ...canary,
        status: {
          ...canary.status,
          message,
          lastAnalysis: [
            {
              name: 'latency',
              value: 300,
              threshold: 'successCondition: result < 200.0; failureCondition: result > 400.0',
              passed: false,
              inconclusive: true,
              reason: 'latency: inconclusive: neither condition holds for result = 300',
            },
          ],
        },
      },
      [],
      now,
    );
    expect(screen).toContain(`Phase      Progressing — ${message}`);
    expect(screen).toMatch(/\? latency \(inconclusive\)\s+300\s+successCondition/);
  });
});

describe('helpers', () => {
  it('draws a bar with the max-weight marker', () => {
    expect(weightBar(20, 50, 10)).toBe('[██░░┆░░░░░]');
  });
  it('classifies terminal phases for --watch exit codes', () => {
    expect(isTerminal('Succeeded')).toBe('succeeded');
    expect(isTerminal('Failed')).toBe('failed');
    expect(isTerminal('Progressing')).toBeUndefined();
  });
  it('prints kubectl-style ages', () => {
    expect(age('2026-11-22T09:00:00Z', now)).toBe('60m');
    expect(age(undefined, now)).toBe('-');
  });
});
