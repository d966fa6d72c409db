import type { CanaryStatus } from '../api/status.ts';
import type { Happened, StepResult } from '../machine/driver.ts';
import type { ControllerMetrics } from './metrics.ts';

// The last step of a reconcile: the canary's gauges from the status just written, and the
// rollout counters from what the machine did (StepResult.happened), not re-derived.

const IDLE = new Set(['Initialized', 'Waiting']);

/** Flagger's sluice_canary_status values: 0 running, 1 succeeded, 2 failed, 3 idle/waiting. */
function statusValue(phase: string | undefined): number {
  if (phase === 'Succeeded') return 1;
  if (phase === 'Failed') return 2;
  return phase !== undefined && IDLE.has(phase) ? 3 : 0;
}

export function recordRollout(
  metrics: ControllerMetrics,
  canary: { name: string; namespace: string },
  before: CanaryStatus,
  after: CanaryStatus,
  step: { happened: Happened; result: StepResult },
  now: number,
): void {
  const labels = { name: canary.name, namespace: canary.namespace };
  const weight = after.canaryWeight ?? 0;
  metrics.weight.set({ ...labels, workload: 'canary' }, weight);
  metrics.weight.set({ ...labels, workload: 'primary' }, 100 - weight);
  metrics.failedChecks.set(labels, after.failedChecks ?? 0);
  metrics.status.set(labels, statusValue(after.phase));
  if (after.phase !== before.phase && after.phase !== undefined) {
    if (before.phase) metrics.phase.set({ ...labels, phase: before.phase }, 0);
    metrics.phase.set({ ...labels, phase: after.phase }, 1);
  }

  const { happened, result } = step;
  const byStrategy = { namespace: canary.namespace, strategy: happened.strategy };
  if (happened.rolloutStarted) metrics.rolloutsStarted.inc(byStrategy);
  if (happened.ended === 'promoted') {
    metrics.promotions.inc(byStrategy);
    const detected = Date.parse(after.revisionDetectedAt ?? '');
    if (Number.isFinite(detected)) metrics.leadTime.observe(byStrategy, (now - detected) / 1000);
  }
  if (happened.ended === 'rolledBack') {
    metrics.rollbacks.inc(byStrategy);
    // Traffic is back on the primary within this reconcile unless the route change is still pending.
    if (result.routes.canaryWeight === 0 && !result.effects.some((e) => e.kind === 'setRoutes')) {
      const decided = Date.parse(after.lastTransitionTime ?? '');
      if (Number.isFinite(decided))
        metrics.rollbackDuration.observe(byStrategy, Math.max(0, now - decided) / 1000);
    }
  }
}
