import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serveMetrics, type MetricsEndpoint } from '../test/support/metrics-endpoint.ts';

// One endpoint serving Istio's destination-side series for every benchmarked workload:
// istio_requests_total and istio_request_duration_milliseconds_bucket with
// reporter="destination", as the sidecar of each canary pod would export them. Values are
// computed at scrape time from a constant request rate, so a thousand workloads cost no
// timers. One workload's error ratio can change at a chosen instant (rollback-latency).

/** Bucket edges in ms; every request takes LATENCY_MS, an edge, so p99 is exact: 25 + 0.99 × 25. */
const BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000];
const LATENCY_MS = 50;

interface Workload {
  namespace: string;
  name: string;
  /** Requests per second. */
  rps: number;
  /** Since `changedAt`: share of answers that are 5xx. */
  errorRatio: number;
  changedAt: number;
  okBefore: number;
  errorsBefore: number;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class BenchExporter {
  private readonly workloads = new Map<string, Workload>();
  private endpoint: MetricsEndpoint | undefined;
  private targetFile: string | undefined;
  private readonly rps: number;
  /** Its file_sd target file's name: two exporters on one Prometheus need two. */
  private readonly fileName: string;

  constructor(options: { rps?: number; fileName?: string } = {}) {
    this.rps = options.rps ?? 10;
    this.fileName = options.fileName ?? 'sluice-bench-exporter';
  }

  /** Starts serving healthy traffic for these workloads (idempotent per workload). */
  add(namespace: string, names: readonly string[], now = Date.now()): void {
    for (const name of names) {
      if (this.workloads.has(key(namespace, name))) continue;
      this.workloads.set(key(namespace, name), {
        namespace,
        name,
        rps: this.rps,
        errorRatio: 0,
        changedAt: now,
        okBefore: 0,
        errorsBefore: 0,
      });
    }
  }

  /** Stops exposing every workload of a namespace (Prometheus marks the series stale). */
  removeNamespace(namespace: string): void {
    for (const [k, workload] of this.workloads)
      if (workload.namespace === namespace) this.workloads.delete(k);
  }

  get size(): number {
    return this.workloads.size;
  }

  /** From `at` on, this share of the workload's answers are 5xx. */
  setErrorRatio(namespace: string, name: string, errorRatio: number, at = Date.now()): void {
    const workload = this.workloads.get(key(namespace, name));
    if (!workload) throw new Error(`exporter: no workload ${key(namespace, name)}`);
    const { ok, errors } = totals(workload, at);
    workload.okBefore = ok;
    workload.errorsBefore = errors;
    workload.changedAt = at;
    workload.errorRatio = errorRatio;
  }

  /** The exposition text at `now`. */
  render(now = Date.now()): string {
    const requests: string[] = ['# TYPE istio_requests_total counter'];
    const durations: string[] = ['# TYPE istio_request_duration_milliseconds histogram'];
    for (const workload of this.workloads.values()) {
      const { ok, errors } = totals(workload, now);
      const labels = `reporter="destination",destination_workload_namespace="${workload.namespace}",destination_workload="${workload.name}"`;
      requests.push(`istio_requests_total{${labels},response_code="200"} ${ok}`);
      requests.push(`istio_requests_total{${labels},response_code="500"} ${errors}`);
      const count = ok + errors;
      for (const edge of BUCKETS_MS) {
        durations.push(
          `istio_request_duration_milliseconds_bucket{${labels},le="${edge}"} ${LATENCY_MS <= edge ? count : 0}`,
        );
      }
      durations.push(`istio_request_duration_milliseconds_bucket{${labels},le="+Inf"} ${count}`);
      durations.push(`istio_request_duration_milliseconds_sum{${labels}} ${count * LATENCY_MS}`);
      durations.push(`istio_request_duration_milliseconds_count{${labels}} ${count}`);
    }
    return `${requests.join('\n')}\n${durations.join('\n')}\n`;
  }

  /** Serves /metrics on loopback and registers it with Prometheus through file_sd. */
  async start(prometheusTargetsDir: string): Promise<number> {
    this.endpoint = await serveMetrics(() => this.render());
    const { port } = this.endpoint;
    this.targetFile = join(prometheusTargetsDir, `${this.fileName}.json`);
    await writeFile(
      this.targetFile,
      JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { bench: 'sluice' } }]),
    );
    return port;
  }

  async stop(): Promise<void> {
    if (this.targetFile) await rm(this.targetFile, { force: true });
    await this.endpoint?.close();
  }
}

function totals(workload: Workload, now: number): { ok: number; errors: number } {
  const requests = (workload.rps * Math.max(0, now - workload.changedAt)) / 1000;
  return {
    ok: workload.okBefore + requests * (1 - workload.errorRatio),
    errors: workload.errorsBefore + requests * workload.errorRatio,
  };
}
