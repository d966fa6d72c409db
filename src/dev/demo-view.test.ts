import { describe, expect, it } from 'vitest';
import { renderDemoFrame, type DemoFrame } from './demo-view.ts';

const frame: DemoFrame = {
  title: 'Sluice demo — podinfo.demo on Istio (VirtualService)',
  stage: 'release 1.2.0 (3% errors): expected to be rolled back by the judge',
  elapsedMs: 95_000,
  phase: 'Progressing',
  message: 'advance canary weight 40',
  canaryWeight: 40,
  maxWeight: 60,
  failedChecks: 0,
  threshold: 10,
  analysis: [{ name: 'request-success-rate', value: 99.2, threshold: 'min 99', passed: true }],
  traffic: { total: 100, canary: 40, errors: 1, rps: 20 },
  slack: [],
  outcomes: [],
};

describe('renderDemoFrame', () => {
  it("shows the judge's evidence with --judge, one line per judged metric", () => {
    const screen = renderDemoFrame({
      ...frame,
      judge: [
        {
          name: 'errors',
          outcome: 'undecided',
          reason:
            'errors: canary 2.9 % (14/480) vs primary 0 % (0/720); rate canary/primary +Inf× [1.3×, +Inf×], limit 1.00×; Bayes factor 41 (needs 200): no regression shown yet',
        },
        {
          name: 'latency',
          outcome: 'noData',
          reason: 'latency: no traffic on the canary yet, nothing to compare',
        },
      ],
    });
    expect(screen).toContain('Judge (canary against primary, since the rollout started)');
    expect(screen).toContain('  … undecided errors: canary 2.9 % (14/480) vs primary 0 % (0/720);');
    expect(screen).toContain('Bayes factor 41 (needs 200)');
    expect(screen).toContain('  ? noData    latency: no traffic on the canary yet');
  });

  it('has no judge block without --judge', () => {
    expect(renderDemoFrame(frame)).not.toContain('Judge');
    expect(renderDemoFrame({ ...frame, judge: [] })).toContain('  (no look yet)');
  });
});
