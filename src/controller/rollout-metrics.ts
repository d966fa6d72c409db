import type { CanaryStatus } from '../api/status.ts';
import type { Happened } from '../machine/driver.ts';
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

/** Where lead time for changes starts: the commit (dora.metrics/timestamp), else the revision's detection. */
export type LeadTimeSource = 'commit' | 'detection';

/** Lead time of a promotion that completed with `after`, or undefined when no start is known. */
export function leadTime(after: CanaryStatus): { seconds: number; source: LeadTimeSource } | undefined {
  const completed = Date.parse(after.lastTransitionTime ?? '');
  if (!Number.isFinite(completed)) return undefined;
  const committed = Date.parse(after.release?.committedAt ?? '');
  const detected = Date.parse(after.revisionDetectedAt ?? '');
  const [start, source]: [number, LeadTimeSource] = Number.isFinite(committed)
    ? [committed, 'commit']
    : [detected, 'detection'];
  if (!Number.isFinite(start)) return undefined;
  // A commit clock ahead of the controller's must not make a negative lead time.
  return { seconds: Math.max(0, completed - start) / 1000, source };
}

export function recordRollout(
  metrics: ControllerMetrics,
  canary: { name: string; namespace: string },
  before: CanaryStatus,
  after: CanaryStatus,
  happened: Happened,
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

  // The DORA series (docs/metrics.md#dora-metrics); the strategy is the plan's.
  const byStrategy = { namespace: canary.namespace, strategy: happened.strategy };
  if (happened.rolloutStarted) metrics.rolloutsStarted.inc(byStrategy);
  if (happened.ended === 'promoted') {
    metrics.promotions.inc(byStrategy);
    const lead = leadTime(after);
    if (lead) metrics.leadTime.observe({ ...byStrategy, source: lead.source }, lead.seconds);
  }
  if (happened.ended === 'rolledBack') metrics.rollbacks.inc(byStrategy);
  if (happened.restoredAfterMs !== null)
    metrics.rollbackDuration.observe(byStrategy, happened.restoredAfterMs / 1000);
}
