// Constant-rate load for the demo: requests against a traffic proxy, counted by status,
// by the app's X-App-Version and by the workload that answered, so the demo can show how
// much traffic the canary really gets. The schedule is the load tester's open-model
// generator (src/loadtester/load.ts); this only adds the counting.

import { errorReason, runLoad, type LoadReport, type LoadSpec } from '../loadtester/load.ts';

export interface DemoLoadOptions {
  url: string;
  /** Requests per second (default 20). */
  rps?: number;
  /** Sent with every request, e.g. `{ 'x-canary': 'insider' }` for an A/B match. */
  headers?: Record<string, string>;
  /** Stop after this long (default: until stop()). */
  durationMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** At most this many in flight (default 50). */
  concurrency?: number;
}

export interface LoadCounts {
  /** Requests answered or failed so far. */
  total: number;
  byStatus: Record<string, number>;
  /** By the X-App-Version response header (`none` when absent). */
  byVersion: Record<string, number>;
  /** By the workload that answered (the traffic layer's X-Sluice-Workload header). */
  byWorkload: Record<string, number>;
  /** Requests that got no answer, by reason. */
  errors: Record<string, number>;
}

export interface DemoLoad {
  counts(): LoadCounts;
  /** Stops sending, waits for requests in flight, returns the final counts. */
  stop(): Promise<LoadCounts & { report: LoadReport }>;
  /** Resolves when the load ends (duration reached or stopped). */
  done: Promise<LoadCounts & { report: LoadReport }>;
}

export interface DemoLoadDeps {
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const bump = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

/** Starts sending; counts are live. */
export function startDemoLoad(options: DemoLoadOptions, deps: DemoLoadDeps = {}): DemoLoad {
  const doFetch = deps.fetch ?? fetch;
  const counts: LoadCounts = { total: 0, byStatus: {}, byVersion: {}, byWorkload: {}, errors: {} };
  const controller = new AbortController();
  const spec: LoadSpec = {
    url: options.url,
    method: 'GET',
    headers: options.headers ?? {},
    rps: options.rps ?? 20,
    concurrency: options.concurrency ?? 50,
    // "Until stopped" is a day of load; stop() ends it.
    durationMs: options.durationMs ?? 86_400_000,
    timeoutMs: options.timeoutMs ?? 5000,
  };
  const send = async (load: LoadSpec): Promise<number> => {
    try {
      const response = await doFetch(load.url, {
        method: load.method,
        headers: load.headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(load.timeoutMs),
      });
      await response.arrayBuffer();
      counts.total += 1;
      bump(counts.byStatus, String(response.status));
      bump(counts.byVersion, response.headers.get('x-app-version') ?? 'none');
      bump(counts.byWorkload, response.headers.get('x-sluice-workload') ?? 'none');
      return response.status;
    } catch (error) {
      counts.total += 1;
      bump(counts.errors, errorReason(error));
      throw error;
    }
  };
  const snapshot = (): LoadCounts => structuredClone(counts);
  const done = runLoad(spec, {
    send,
    signal: controller.signal,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  }).then((report) => ({ ...snapshot(), report }));
  return {
    counts: snapshot,
    stop: () => {
      controller.abort();
      return done;
    },
    done,
  };
}

/** Shares of a count record, largest first, as percentages of its total. */
export function shares(record: Record<string, number>): { key: string; count: number; percent: number }[] {
  const total = Object.values(record).reduce((sum, n) => sum + n, 0);
  return Object.entries(record)
    .map(([key, count]) => ({ key, count, percent: total ? (count / total) * 100 : 0 }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** One line for a terminal: `412 requests · 200 95.1% · 500 4.9% · podinfo-primary 80.1% · podinfo 19.9%`. */
export function formatCounts(counts: LoadCounts): string {
  const part = (record: Record<string, number>) =>
    shares(record).map((s) => `${s.key} ${s.percent.toFixed(1)}%`);
  const workloads = Object.keys(counts.byWorkload).some((k) => k !== 'none')
    ? counts.byWorkload
    : counts.byVersion;
  const errors = Object.entries(counts.errors).map(([reason, n]) => `${reason} ×${n}`);
  return [`${counts.total} requests`, ...part(counts.byStatus), ...part(workloads), ...errors].join(' · ');
}
