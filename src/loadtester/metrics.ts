import { collectDefaultMetrics, Counter, Gauge, Registry, Summary } from 'prom-client';

/** The load tester's own metrics, in their own registry (never the global one). */
export function createLoadtesterMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'sluice_loadtester_' });
  return {
    registry,
    requests: new Counter({
      name: 'sluice_loadtester_requests_total',
      help: 'Requests sent by load and smoke tests, by canary and HTTP status ("error" when no answer came)',
      labelNames: ['canary', 'code'] as const,
      registers: [registry],
    }),
    requestErrors: new Counter({
      name: 'sluice_loadtester_request_errors_total',
      help: 'Requests that got no answer, by canary and reason (timeout, ECONNREFUSED, …)',
      labelNames: ['canary', 'reason'] as const,
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'sluice_loadtester_dropped_requests_total',
      help: 'Requests due while the concurrency limit was reached, not sent',
      labelNames: ['canary'] as const,
      registers: [registry],
    }),
    latency: new Summary({
      name: 'sluice_loadtester_request_duration_seconds',
      help: 'Latency of load test requests over the last minute, by canary',
      labelNames: ['canary'] as const,
      percentiles: [0.5, 0.9, 0.99],
      maxAgeSeconds: 60,
      ageBuckets: 6,
      registers: [registry],
    }),
    runs: new Counter({
      name: 'sluice_loadtester_tasks_total',
      help: 'Tasks finished, by canary, type and result',
      labelNames: ['canary', 'type', 'result'] as const,
      registers: [registry],
    }),
    active: new Gauge({
      name: 'sluice_loadtester_active_tasks',
      help: 'Asynchronous tasks (load tests, commands) running now',
      registers: [registry],
    }),
    unauthorized: new Counter({
      name: 'sluice_loadtester_unauthorized_requests_total',
      help: 'Requests refused with 401 for want of the bearer token (--token-file)',
      registers: [registry],
    }),
    repeats: new Counter({
      name: 'sluice_loadtester_repeated_calls_total',
      help: 'Task calls whose idempotency key had been seen: answered with the first answer, nothing run',
      labelNames: ['canary'] as const,
      registers: [registry],
    }),
    gateChecks: new Counter({
      name: 'sluice_loadtester_gate_checks_total',
      help: 'Gate checks answered, by canary, gate kind and answer',
      labelNames: ['canary', 'kind', 'answer'] as const,
      registers: [registry],
    }),
  };
}

export type LoadtesterMetrics = ReturnType<typeof createLoadtesterMetrics>;
