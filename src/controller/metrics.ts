import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The controller's Prometheus metrics. Per-canary series carry `name` and `namespace`;
 * rollout outcomes carry the strategy (the plan's). The DORA figures (docs/metrics.md#dora-metrics):
 * - deployment frequency: increase(sluice_canary_promotions_total[1d])
 * - change failure rate: sluice_canary_rollbacks_total / sluice_canary_rollouts_started_total
 *   (a retry is a rollout started, so the rate never exceeds 1)
 * - time to restore: sluice_canary_rollback_duration_seconds (rollback decided → the route
 *   write that gave the ready primary all traffic)
 * - lead time for changes: sluice_canary_lead_time_seconds (commit → promotion completed;
 *   `source` says whether the commit time or the revision's detection started it)
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  const perCanary = ['name', 'namespace'] as const;
  /** A gauge per canary: labelled `name` and `namespace`, then `labels`. */
  const canaryGauge = <L extends string = never>(name: string, help: string, labels: readonly L[] = []) =>
    new Gauge<(typeof perCanary)[number] | L>({
      name,
      help,
      labelNames: [...perCanary, ...labels],
      registers: [registry],
    });
  /** A count of rollouts by namespace and strategy. */
  const rolloutCounter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['namespace', 'strategy'] as const, registers: [registry] });
  return {
    registry,
    /** 0 running, 1 succeeded, 2 failed (Flagger's convention), 3 waiting/initialising. */
    status: canaryGauge(
      'sluice_canary_status',
      'Canary state: 0 progressing, 1 succeeded, 2 failed, 3 idle/waiting',
    ),
    phase: canaryGauge('sluice_canary_phase', 'Current phase of each canary (1 for the current phase)', [
      'phase',
    ]),
    weight: canaryGauge('sluice_canary_weight', 'Traffic weight per workload (primary/canary)', ['workload']),
    failedChecks: canaryGauge('sluice_canary_failed_checks', 'Failed checks of the current analysis'),
    metricValue: canaryGauge('sluice_canary_metric_value', 'Last value of each analysis metric', ['metric']),
    metricLimit: canaryGauge(
      'sluice_canary_metric_limit',
      "Each analysis metric's thresholdRange bound (bound: min or max)",
      ['metric', 'bound'],
    ),
    judgeValue: canaryGauge(
      'sluice_canary_judge_value',
      'Judged metric per arm since the rollout started (rates in %, latency p99)',
      ['metric', 'workload'],
    ),
    judgeEffect: canaryGauge(
      'sluice_canary_judge_effect',
      'Judged metric canary/primary ratio: estimate, interval lower/upper, and the limit the tolerance allows',
      ['metric', 'bound'],
    ),
    judgeBayesFactor: canaryGauge(
      'sluice_canary_judge_bayes_factor',
      'Evidence of a regression per judged metric (Bayes factor)',
      ['metric'],
    ),
    judgeBayesFactorLimit: canaryGauge(
      'sluice_canary_judge_bayes_factor_limit',
      'The Bayes factor at which the judge calls a regression',
      ['metric'],
    ),
    judgeOutcome: canaryGauge(
      'sluice_canary_judge_outcome',
      'Judged metric outcome: 0 pass, 1 undecided, 2 fail, 3 no data, 4 error',
      ['metric'],
    ),
    analysisDuration: new Histogram({
      name: 'sluice_canary_analysis_duration_seconds',
      help: 'Time to run one analysis step (all metric queries)',
      labelNames: perCanary,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rolloutsStarted: rolloutCounter(
      'sluice_canary_rollouts_started_total',
      'Rollouts started (a new revision began its analysis)',
    ),
    promotions: rolloutCounter(
      'sluice_canary_promotions_total',
      'Rollouts that ended promoted (deployments)',
    ),
    rollbacks: rolloutCounter(
      'sluice_canary_rollbacks_total',
      'Rollouts that ended rolled back (change failures)',
    ),
    leadTime: new Histogram({
      name: 'sluice_canary_lead_time_seconds',
      help: 'Lead time for changes: from the commit (dora.metrics/timestamp; source="commit") or else the revision detected (source="detection") to promotion completed',
      labelNames: ['namespace', 'strategy', 'source'],
      buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400],
      registers: [registry],
    }),
    rollbackDuration: new Histogram({
      name: 'sluice_canary_rollback_duration_seconds',
      help: 'Time to restore: from the rollback decision to the route write that gave the ready primary all traffic',
      labelNames: ['namespace', 'strategy'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'sluice_reconcile_duration_seconds',
      help: 'Duration of one canary reconcile',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'sluice_reconcile_errors_total',
      help: 'Reconciles that failed and were retried',
      registers: [registry],
    }),
    tickLag: new Histogram({
      name: 'sluice_tick_lag_seconds',
      help: 'How late analysis ticks start against their schedule',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'sluice_workqueue_depth',
      help: 'Canaries waiting for a reconcile',
      registers: [registry],
    }),
    resyncDepth: new Gauge({
      name: 'sluice_workqueue_resync_depth',
      help: 'Of those, canaries waiting for their periodic resync (served while no other reconcile waits)',
      registers: [registry],
    }),
    apiWrites: new Counter({
      name: 'sluice_api_writes_total',
      help: 'Writes to the Kubernetes API by kind of write',
      labelNames: ['write'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'sluice_leader',
      help: '1 while this replica holds the leader lease',
      registers: [registry],
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof createMetrics>;

/**
 * The batcher's figures (decision 0028): batched built-in queries sent to Prometheus and the
 * canaries' checks they answered, read from its counts at each scrape.
 */
export function registerBatchMetrics(
  registry: Registry,
  stats: () => { queries: number; checks: number },
): void {
  if (registry.getSingleMetric('sluice_metric_batch_queries_total')) return; // a registry reused
  const counter = (name: string, help: string, read: (s: { queries: number; checks: number }) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  counter(
    'sluice_metric_batch_queries_total',
    'Batched built-in metric queries sent to Prometheus',
    (s) => s.queries,
  );
  counter(
    'sluice_metric_batch_checks_total',
    'Canary metric checks answered by batched queries (checks ÷ queries: canaries per query)',
    (s) => s.checks,
  );
}
