import { tallyAuditLog, type RequestTally } from './audit.ts';
import type { ControllerProcess } from './controllers.ts';
import { CONTROLLER_USER, type BenchEnv } from './harness.ts';
import type { ProcessMonitor } from './proc.ts';
import { type ProcSample } from './proc.ts';
import { parsePrometheusText, sumOf, type Sample } from './prom-text.ts';

// A measurement window over one controller: its CPU time and memory from /proc, its
// apiserver requests from the audit log, the queries Prometheus answered, and (Sluice) its
// own metrics, all taken at the window's start and end.

export interface WindowStart {
  at: number;
  proc: ProcSample;
  promQueries: number;
  controllerMetrics: Sample[] | undefined;
}

export interface WindowResult {
  from: number;
  to: number;
  seconds: number;
  cpuSeconds: number;
  /** Highest RSS sampled within the window, bytes. */
  windowRssBytes: number;
  /** VmHWM at the end: the process' peak RSS since it started, bytes. */
  peakRssBytes: number;
  requests: RequestTally;
  promQueries: number;
  controllerBefore: Sample[] | undefined;
  controllerAfter: Sample[] | undefined;
}

/** Instant queries Prometheus has answered so far (its own prometheus_http_requests_total). */
export async function prometheusQueries(prometheusUrl: string): Promise<number> {
  const response = await fetch(`${prometheusUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const samples = parsePrometheusText(await response.text());
  return (
    sumOf(samples, 'prometheus_http_requests_total', { handler: '/api/v1/query' }) +
    sumOf(samples, 'prometheus_http_requests_total', { handler: '/api/v1/query_range' })
  );
}

export async function openWindow(
  env: BenchEnv,
  controller: ControllerProcess,
  monitor: ProcessMonitor,
): Promise<WindowStart> {
  const [proc, promQueries, controllerMetrics] = await Promise.all([
    monitor.sample(),
    prometheusQueries(env.cluster.prometheusUrl),
    controller.kind === 'sluice' ? controller.metrics() : Promise.resolve(undefined),
  ]);
  return { at: Date.now(), proc, promQueries, controllerMetrics };
}

export async function closeWindow(
  env: BenchEnv,
  controller: ControllerProcess,
  monitor: ProcessMonitor,
  start: WindowStart,
): Promise<WindowResult> {
  const to = Date.now();
  const [proc, promQueries, controllerAfter] = await Promise.all([
    monitor.sample(),
    prometheusQueries(env.cluster.prometheusUrl),
    controller.kind === 'sluice' ? controller.metrics() : Promise.resolve(undefined),
  ]);
  // The audit line of a request is written when its response completes: give the last ones a moment.
  await new Promise((r) => setTimeout(r, 1500));
  const requests = await tallyAuditLog(env.auditLog, {
    user: CONTROLLER_USER[controller.kind],
    from: start.at,
    to,
  });
  return {
    from: start.at,
    to,
    seconds: (to - start.at) / 1000,
    cpuSeconds: proc.cpuSeconds - start.proc.cpuSeconds,
    windowRssBytes: monitor.maxRssBetween(start.at, to),
    peakRssBytes: proc.peakRssBytes,
    requests,
    promQueries: promQueries - start.promQueries,
    controllerBefore: start.controllerMetrics,
    controllerAfter,
  };
}

export const MB = 1024 * 1024;

/** The per-verb request counts as figures: api_get, api_list, api_patch, … */
export function verbFigures(tally: RequestTally): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
    figures[`api_${verb}`] = tally.byVerb[verb] ?? 0;
  }
  return figures;
}
