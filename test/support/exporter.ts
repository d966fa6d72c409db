import { serveMetrics, type MetricsEndpoint } from './metrics-endpoint.ts';

// A small exporter the tests drive: it serves, in Prometheus text format, the series each
// mesh / controller / app exports for one canary workload (Istio, Linkerd, ingress-nginx,
// the app's own histogram, cAdvisor and kube-state-metrics), with counters advanced from a
// traffic mode the test sets. Decoy series (the primary, the source reporter, outbound
// traffic) carry errors and high latency, so a query that selects the wrong series fails.

export interface TrafficMode {
  /** Requests per second; 0 stops every counter (no traffic). */
  rps: number;
  /** Share of 5xx answers, 0–1. */
  errorRatio: number;
  /** Every request takes this long (ms); pick a bucket edge for an exact p99. */
  latencyMs: number;
}

export interface Saturation {
  /** Share of CFS periods throttled, 0–1. */
  throttledRatio: number;
  /** Working set as a share of the memory limit, 0–1. */
  memoryRatio: number;
}

/** Bucket edges in ms. A latency on an edge puts every observation in one bucket, so
 * histogram_quantile(0.99) = lower + 0.99 × (edge − lower): 100 → 99.5, 800 → 799.5. */
const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 750, 800, 1000, 2500, 5000];

const MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;

type Labels = Record<string, string>;

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([key, value]) => `${key}="${value.replace(/["\\\n]/g, '\\$&')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One family of series keyed by label set, rendered in text exposition format. */
class Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, type: 'counter' | 'gauge') {
    this.name = name;
    this.type = type;
  }
  add(labels: Labels, delta: number): void {
    const key = labelText(labels);
    const entry = this.series.get(key) ?? { labels, value: 0 };
    entry.value += delta;
    this.series.set(key, entry);
  }
  set(labels: Labels, value: number): void {
    this.series.set(labelText(labels), { labels, value });
  }
  render(): string {
    if (this.series.size === 0) return '';
    const lines = [`# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.series.values())
      lines.push(`${this.name}${labelText(labels)} ${value}`);
    return `${lines.join('\n')}\n`;
  }
}

class HistogramFamily {
  readonly name: string;
  /** Multiplier from ms to the family's unit (1 for ms, 0.001 for seconds). */
  readonly scale: number;
  readonly series = new Map<string, { labels: Labels; histogram: Histogram }>();
  constructor(name: string, scale: number) {
    this.name = name;
    this.scale = scale;
  }
  observe(labels: Labels, latencyMs: number, count: number): void {
    const key = labelText(labels);
    const entry = this.series.get(key) ?? {
      labels,
      histogram: { buckets: BUCKETS_MS.map(() => 0), sum: 0, count: 0 },
    };
    BUCKETS_MS.forEach((edge, i) => {
      if (latencyMs <= edge) entry.histogram.buckets[i]! += count;
    });
    entry.histogram.count += count;
    entry.histogram.sum += count * latencyMs * this.scale;
    this.series.set(key, entry);
  }
  render(): string {
    if (this.series.size === 0) return '';
    const lines = [`# TYPE ${this.name} histogram`];
    for (const { labels, histogram } of this.series.values()) {
      BUCKETS_MS.forEach((edge, i) => {
        const le = String(edge * this.scale);
        lines.push(`${this.name}_bucket${labelText({ ...labels, le })} ${histogram.buckets[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${histogram.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${histogram.sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${histogram.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

export interface ExporterOptions {
  namespace: string;
  /** The canary workload (the target Deployment's name). */
  target: string;
  /** The Ingress routed by nginx. */
  ingress: string;
  tickMs?: number;
}

export class TrafficExporter {
  readonly namespace: string;
  readonly target: string;
  readonly ingress: string;
  /** A canary pod name as a Deployment names it: <target>-<rs hash>-<pod hash>. */
  readonly pod: string;
  private mode: TrafficMode = { rps: 0, errorRatio: 0, latencyMs: 100 };
  private saturation: Saturation = { throttledRatio: 0, memoryRatio: 0.3 };
  private exposing = true;
  private readonly counters = new Map<string, Family>();
  private readonly histograms = new Map<string, HistogramFamily>();
  private endpoint: MetricsEndpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = Date.now();
  private readonly tickMs: number;

  constructor(options: ExporterOptions) {
    this.namespace = options.namespace;
    this.target = options.target;
    this.ingress = options.ingress;
    this.pod = `${options.target}-7d9f8c6b5-x2xkz`;
    this.tickMs = options.tickMs ?? 200;
  }

  private family(name: string, type: 'counter' | 'gauge' = 'counter'): Family {
    let family = this.counters.get(name);
    if (!family) {
      family = new Family(name, type);
      this.counters.set(name, family);
    }
    return family;
  }

  private histogram(name: string, scale: number): HistogramFamily {
    let family = this.histograms.get(name);
    if (!family) {
      family = new HistogramFamily(name, scale);
      this.histograms.set(name, family);
    }
    return family;
  }

  setMode(mode: Partial<TrafficMode>): void {
    this.tick();
    this.mode = { ...this.mode, ...mode };
  }

  setSaturation(saturation: Partial<Saturation>): void {
    this.tick();
    this.saturation = { ...this.saturation, ...saturation };
  }

  /** A container restart, recorded by kube-state-metrics with its termination reason. */
  restart(reason: 'OOMKilled' | 'Error'): void {
    const labels = { namespace: this.namespace, pod: this.pod, container: 'app' };
    this.family('kube_pod_container_status_restarts_total').add(labels, 1);
    const last = this.family('kube_pod_container_status_last_terminated_reason', 'gauge');
    last.series.clear();
    last.set({ ...labels, reason }, 1);
  }

  /** Stops exposing every series (the workload is gone): Prometheus marks them stale. */
  withdraw(): void {
    this.exposing = false;
  }

  /** Advances every counter by the traffic since the last tick. */
  private tick(): void {
    const now = Date.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    if (seconds <= 0) return;
    const { namespace, target, ingress, pod } = this;
    const total = this.mode.rps * seconds;
    const errors = total * this.mode.errorRatio;
    const ok = total - errors;
    const latency = this.mode.latencyMs;
    // Decoys: traffic that must not be counted, always failing and slow.
    const decoy = Math.max(1, this.mode.rps) * seconds;

    const istio = this.family('istio_requests_total');
    const istioLatency = this.histogram('istio_request_duration_milliseconds', 1);
    const workload = { destination_workload_namespace: namespace, destination_workload: target };
    for (const [reporter, good, bad] of [
      ['destination', ok, errors],
      ['source', 0, decoy],
    ] as const) {
      istio.add({ reporter, ...workload, response_code: '200' }, good);
      istio.add({ reporter, ...workload, response_code: '503' }, bad);
      istioLatency.observe({ reporter, ...workload }, reporter === 'source' ? 5000 : latency, good + bad);
    }
    const primary = { destination_workload_namespace: namespace, destination_workload: `${target}-primary` };
    istio.add({ reporter: 'destination', ...primary, response_code: '500' }, decoy);
    istioLatency.observe({ reporter: 'destination', ...primary }, 5000, decoy);

    const linkerd = this.family('response_total');
    const linkerdLatency = this.histogram('response_latency_ms', 1);
    const deployment = { namespace, deployment: target };
    linkerd.add({ ...deployment, direction: 'inbound', classification: 'success', status_code: '200' }, ok);
    linkerd.add(
      { ...deployment, direction: 'inbound', classification: 'failure', status_code: '500' },
      errors,
    );
    linkerdLatency.observe({ ...deployment, direction: 'inbound' }, latency, total);
    linkerd.add(
      { ...deployment, direction: 'outbound', classification: 'failure', status_code: '500' },
      decoy,
    );
    linkerdLatency.observe({ ...deployment, direction: 'outbound' }, 5000, decoy);

    const nginx = this.family('nginx_ingress_controller_requests');
    const nginxLatency = this.histogram('nginx_ingress_controller_response_duration_seconds', 0.001);
    const canary = { namespace, ingress, service: target, canary: `${namespace}-${target}-canary-80` };
    nginx.add({ ...canary, status: '200' }, ok);
    nginx.add({ ...canary, status: '502' }, errors);
    nginxLatency.observe(canary, latency, total);
    const stable = { namespace, ingress, service: target, canary: '' };
    nginx.add({ ...stable, status: '500' }, decoy);
    nginxLatency.observe(stable, 5000, decoy);

    const appLatency = this.histogram('http_request_duration_seconds', 0.001);
    appLatency.observe({ namespace, pod, status: '200' }, latency, ok);
    appLatency.observe({ namespace, pod, status: '500' }, latency, errors);
    appLatency.observe({ namespace, pod: `${target}-primary-6c8d7f9b4-qwert`, status: '500' }, 5000, decoy);

    const container = { namespace, pod, container: 'app' };
    const periods = 10 * seconds; // 100 ms CFS periods
    this.family('container_cpu_cfs_periods_total').add(container, periods);
    this.family('container_cpu_cfs_throttled_periods_total').add(
      container,
      periods * this.saturation.throttledRatio,
    );
    this.family('kube_pod_container_status_restarts_total').add(container, 0);
    this.family('container_memory_working_set_bytes', 'gauge').set(
      container,
      Math.round(MEMORY_LIMIT_BYTES * this.saturation.memoryRatio),
    );
    this.family('kube_pod_container_resource_limits', 'gauge').set(
      { ...container, resource: 'memory', unit: 'byte' },
      MEMORY_LIMIT_BYTES,
    );
  }

  render(): string {
    this.tick();
    if (!this.exposing) return '';
    return [...this.counters.values(), ...this.histograms.values()].map((family) => family.render()).join('');
  }

  async start(): Promise<number> {
    this.lastTick = Date.now();
    this.tick();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.endpoint = await serveMetrics(() => this.render());
    return this.endpoint.port;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.endpoint?.close();
  }
}
