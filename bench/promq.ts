import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  batchedQuery,
  batchPlace,
  createQueryBatcher,
  memberValue,
  splitBatch,
  type QueryBatcher,
} from '../src/analysis/batch.ts';
import { isBuiltinMetric } from '../src/analysis/builtins.ts';
import { evaluateMetric, runAnalysis, type CheckResult } from '../src/analysis/evaluate.ts';
import { createPrometheusProvider } from '../src/analysis/providers/prometheus.ts';
import { templateModel } from '../src/analysis/template.ts';
import type { CanaryContext, MetricCheck } from '../src/analysis/types.ts';
import { binaryPaths, ensureBinaries, exists } from '../src/dev/binaries.ts';
import { startPrometheus as startClusterPrometheus } from '../src/dev/cluster.ts';
import { freePort, killAllSync, stopAll, waitFor } from '../src/dev/process.ts';
import type { Progress } from '../src/dev/progress.ts';
import { BenchExporter } from './exporter.ts';
import { parsePrometheusText, sumOf } from './prom-text.ts';
import { formatNumber, textTable, type Figures } from './report.ts';

// `npm run bench -- promq --canaries 1000`: one interval's built-in checks (success rate and
// p99 latency) for N canaries against a real Prometheus scraping one loopback exporter that
// serves Istio's series for N-1 workloads (the last canary has none: no data), done as each
// canary's own queries (as the controller does without batching, at its reconcile concurrency)
// and batched (src/analysis/batch.ts: one query per metric, split by label). No control plane:
// only Prometheus, the exporter and this process in the controller's place.

export interface PromqOptions {
  canaries: number;
  rounds: number;
  /** The metrics' interval (their [range]). */
  interval: string;
  /** Canaries analysed at once in the per-canary mode (the controller's reconcile concurrency). */
  concurrency: number;
  /** The batcher's window, ms. */
  windowMs: number;
  /** Prometheus' scrape interval, seconds. */
  scrapeS: number;
  /** Time to fill the metrics' window before measuring, seconds. */
  warmupS: number;
  keep: boolean;
}

export type PromqMode = 'single' | 'batched' | 'batched-pool' | 'batched-namespaces';

export const PROMQ_MODES: readonly PromqMode[] = ['single', 'batched', 'batched-pool', 'batched-namespaces'];

export interface ModeFigures {
  mode: PromqMode;
  queries: number;
  wallMs: number;
  queriesPerS: number;
  promCpuS: number;
  responseBytes: number;
  controllerCpuMs: number;
  /** Canaries whose checks differ from their own queries' (value, verdict, error kind). */
  mismatches: number;
}

export interface PromqResult {
  modes: ModeFigures[];
  /** Prometheus' and this process's CPU at rest (scrapes, exporter), subtracted from each mode. */
  idle: { promCpuPerS: number; controllerCpuMsPerS: number };
  /** Canaries whose batched checks at one instant differ from their own queries'. */
  exactMismatches: number;
  figures: Figures;
}

const NAMESPACES = 10;

function canaryOf(i: number, address: string): CanaryContext {
  return {
    name: `app-${i}`,
    namespace: `promq-${i % NAMESPACES}`,
    target: `app-${i}`,
    provider: 'istio',
    metricsServer: address,
  };
}

function checksOf(interval: string): MetricCheck[] {
  return [
    { name: 'request-success-rate', interval, thresholdRange: { min: 99 } },
    { name: 'request-duration', interval, thresholdRange: { max: 500 } },
  ];
}

/** What must be equal between modes: per check its verdict, error kind and value. */
function verdicts(checks: readonly CheckResult[], digits?: number): string {
  return JSON.stringify(
    checks.map((check) => [
      check.name,
      check.passed,
      check.error ?? null,
      typeof check.value === 'number' && digits !== undefined
        ? Number(check.value.toPrecision(digits))
        : (check.value ?? null),
    ]),
  );
}

interface PromSnapshot {
  cpuS: number;
  queries: number;
  bytes: number;
}

async function promSnapshot(address: string): Promise<PromSnapshot> {
  const response = await fetch(`${address}/metrics`);
  const samples = parsePrometheusText(await response.text());
  const query = { handler: '/api/v1/query' };
  return {
    cpuS: sumOf(samples, 'process_cpu_seconds_total'),
    queries: sumOf(samples, 'prometheus_http_requests_total', query),
    bytes: sumOf(samples, 'prometheus_http_response_size_bytes_sum', query),
  };
}

/** Runs `work` over 0..n-1 with at most `limit` at once. */
async function pool(n: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next;
      next += 1;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

interface RoundDeps {
  address: string;
  options: PromqOptions;
  checks: MetricCheck[];
  at?: number;
}

/** One interval's checks for every canary; returns each canary's verdicts. */
async function analyseAll(mode: PromqMode, deps: RoundDeps): Promise<string[]> {
  const { address, options, checks } = deps;
  const out = new Array<string>(options.canaries);
  const batcher: QueryBatcher | undefined =
    mode === 'single' ? undefined : createQueryBatcher({ windowMs: options.windowMs });
  const one = async (i: number) => {
    const result = await runAnalysis(checks, {
      canary: canaryOf(i, address),
      getTemplate: () => Promise.resolve(undefined),
      ...(batcher ? { batcher } : {}),
      ...(deps.at === undefined ? {} : { at: deps.at }),
    });
    out[i] = verdicts(result.checks, deps.at === undefined ? 9 : undefined);
  };
  if (mode === 'batched-namespaces') {
    await analyseByNamespaces(deps, out);
    return out;
  }
  // The controller analyses as many canaries at once as it reconciles; all due ones wait in
  // the batcher's window together when nothing else holds them back (`batched`).
  await pool(options.canaries, mode === 'batched' ? options.canaries : options.concurrency, one);
  return out;
}

/**
 * The batch without a target matcher: every workload of the canaries' namespaces, split on the
 * client (the alternative to a regex of the due canaries' names).
 */
async function analyseByNamespaces(deps: RoundDeps, out: string[]): Promise<void> {
  const provider = createPrometheusProvider({ address: deps.address });
  const canaries = Array.from({ length: deps.options.canaries }, (_, i) => canaryOf(i, deps.address));
  const perCheck = await Promise.all(
    deps.checks.map(async (check) => {
      const { name } = check;
      if (!isBuiltinMetric(name)) throw new Error(`promq: ${name} is not a built-in metric`);
      const places = canaries.map((canary) => {
        const place = batchPlace('istio', name, 'http', templateModel(canary, check.interval, undefined));
        if (!place) throw new Error(`promq: canary ${canary.name} cannot be batched`);
        return place;
      });
      const shape = places[0]?.shape;
      if (!shape || !provider.runSeriesQuery) throw new Error('promq: nothing to batch');
      const query = batchedQuery(
        shape,
        places.map((p) => p.member),
        'namespaces',
      );
      const series = await provider.runSeriesQuery(query).catch(() => []);
      const split = splitBatch(shape, series);
      return places.map((place) => {
        try {
          return evaluateMetric(check, { value: memberValue(split, place.member, '') });
        } catch (error) {
          return evaluateMetric(check, { error });
        }
      });
    }),
  );
  for (let i = 0; i < canaries.length; i += 1) {
    out[i] = verdicts(
      perCheck.map((results) => results[i] as CheckResult),
      9,
    );
  }
}

async function measure(
  mode: PromqMode,
  deps: RoundDeps,
  idle: PromqResult['idle'],
): Promise<{ figures: ModeFigures; verdicts: string[] }> {
  const before = await promSnapshot(deps.address);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const results = await analyseAll(mode, deps);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await promSnapshot(deps.address);
  const wallS = wallMs / 1000;
  const queries = after.queries - before.queries;
  return {
    verdicts: results,
    figures: {
      mode,
      queries,
      wallMs,
      queriesPerS: queries / wallS,
      promCpuS: Math.max(0, after.cpuS - before.cpuS - idle.promCpuPerS * wallS),
      responseBytes: after.bytes - before.bytes,
      controllerCpuMs: Math.max(0, (cpu.user + cpu.system) / 1000 - idle.controllerCpuMsPerS * wallS),
      mismatches: 0,
    },
  };
}

async function startPrometheus(dir: string, scrapeS: number): Promise<{ pid: number; address: string }> {
  let bins = binaryPaths();
  if (!(await exists(bins.prometheus))) {
    bins = await ensureBinaries({
      step: (title, work) => work(() => undefined).finally(() => process.stderr.write(`${title}\n`)),
      info: (message) => process.stderr.write(`${message}\n`),
    });
  }
  const port = await freePort();
  const pid = await startClusterPrometheus(bins, dir, port, join(dir, 'prometheus.log'), scrapeS);
  const address = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${address}/-/ready`)).ok, {
    timeoutMs: 60_000,
    pid,
  });
  return { pid, address };
}

async function seriesCount(address: string, promql: string): Promise<number> {
  const response = await fetch(`${address}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  return Number(body.data?.result?.[0]?.value[1] ?? 0);
}

const MEDIAN_KEYS = [
  'queries',
  'wallMs',
  'queriesPerS',
  'promCpuS',
  'responseBytes',
  'controllerCpuMs',
  'mismatches',
] as const;

function medianOf(runs: readonly ModeFigures[], mode: PromqMode): ModeFigures {
  const mine = runs.filter((run) => run.mode === mode);
  const out: ModeFigures = { ...(mine[0] as ModeFigures) };
  for (const key of MEDIAN_KEYS) {
    const values = mine.map((run) => run[key]).sort((a, b) => a - b);
    out[key] = values[Math.floor(values.length / 2)] ?? Number.NaN;
  }
  out.mismatches = Math.max(...mine.map((run) => run.mismatches));
  return out;
}

export async function promqRun(options: PromqOptions, progress: Progress): Promise<PromqResult> {
  const dir = resolve('.sluice', 'bench-promq');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const { pid, address } = await progress.step('Prometheus', () => startPrometheus(dir, options.scrapeS));
  const stopPrometheus = () => killAllSync([pid]);
  process.once('exit', stopPrometheus);
  const exporter = new BenchExporter();
  try {
    const names = Array.from({ length: options.canaries - 1 }, (_, i) => canaryOf(i, address));
    for (let ns = 0; ns < NAMESPACES; ns += 1) {
      exporter.add(
        `promq-${ns}`,
        names.filter((c) => c.namespace === `promq-${ns}`).map((c) => c.target),
      );
    }
    // Every answer of app-0 is a 5xx: 0 %, a failed check with a value (not no data).
    exporter.setErrorRatio('promq-0', 'app-0', 1);
    await exporter.start(join(dir, 'prometheus', 'targets'));
    const want = (options.canaries - 1) * 2;
    await progress.step(
      `${options.canaries - 1} workloads scraped every ${options.scrapeS}s, ${options.warmupS}s to fill the ${options.interval} window`,
      async (update) => {
        const started = Date.now();
        await waitFor(
          'series scraped',
          async () => (await seriesCount(address, 'count(istio_requests_total)')) === want,
          { timeoutMs: 120_000, pid },
        );
        for (let left = options.warmupS - (Date.now() - started) / 1000; left > 0; left -= 5) {
          update(`${Math.ceil(left)}s`);
          await sleep(Math.min(5, left) * 1000);
        }
      },
    );
    const checks = checksOf(options.interval);
    const idle = await progress.step('at rest, 10 s', async () => {
      const before = await promSnapshot(address);
      const cpu = process.cpuUsage();
      await sleep(10_000);
      const used = process.cpuUsage(cpu);
      const after = await promSnapshot(address);
      return {
        promCpuPerS: (after.cpuS - before.cpuS) / 10,
        controllerCpuMsPerS: (used.user + used.system) / 1000 / 10,
      };
    });
    // Exactness: every canary's checks at one instant, its own queries against the batch.
    const at = Date.now() - 2000;
    const exactMismatches = await progress.step('batched against own queries at one instant', async () => {
      const own = await analyseAll('single', { address, options, checks, at });
      const batched = await analyseAll('batched', { address, options, checks, at });
      return own.filter((v, i) => v !== batched[i]).length;
    });
    const runs: ModeFigures[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      // Alternate the order so neither mode always follows the other.
      const modes = round % 2 === 0 ? PROMQ_MODES : [...PROMQ_MODES].reverse();
      let reference: string[] | undefined;
      const measured: { mode: PromqMode; verdicts: string[]; figures: ModeFigures }[] = [];
      for (const mode of modes) {
        const run = await progress.step(`round ${round + 1}/${options.rounds}: ${mode}`, () =>
          measure(mode, { address, options, checks }, idle),
        );
        measured.push({ mode, ...run });
        if (mode === 'single') reference = run.verdicts;
      }
      for (const run of measured) {
        run.figures.mismatches = reference
          ? run.verdicts.filter((v, i) => v !== reference[i]).length
          : Number.NaN;
        runs.push(run.figures);
      }
    }
    const modes = PROMQ_MODES.map((mode) => medianOf(runs, mode));
    const of = (mode: PromqMode) => modes.find((m) => m.mode === mode) as ModeFigures;
    const single = of('single');
    const batched = of('batched');
    const pooled = of('batched-pool');
    const figures: Figures = {
      single_wall_ms: single.wallMs,
      single_qps: single.queriesPerS,
      single_prom_cpu_s: single.promCpuS,
      single_bytes: single.responseBytes,
      single_ctl_cpu_ms: single.controllerCpuMs,
      batched_queries: batched.queries,
      batched_wall_ms: batched.wallMs,
      batched_prom_cpu_s: batched.promCpuS,
      batched_bytes: batched.responseBytes,
      batched_ctl_cpu_ms: batched.controllerCpuMs,
      pool_queries: pooled.queries,
      pool_wall_ms: pooled.wallMs,
      pool_prom_cpu_s: pooled.promCpuS,
      ns_prom_cpu_s: of('batched-namespaces').promCpuS,
      prom_cpu_ratio: single.promCpuS / Math.max(batched.promCpuS, 0.001),
      wall_ratio: single.wallMs / batched.wallMs,
      mismatches: Math.max(...modes.map((m) => m.mismatches)),
      exact_mismatches: exactMismatches,
    };
    return { modes, idle, exactMismatches, figures };
  } finally {
    await exporter.stop();
    if (!options.keep) {
      await stopAll([pid]);
      await rm(dir, { recursive: true, force: true });
    } else {
      progress.info(`Prometheus left running at ${address} (pid ${pid}, --keep)`);
    }
  }
}

/** The table: one row per mode. */
export function promqTable(title: string, result: PromqResult): string {
  const header = [
    'mode',
    'queries',
    'wall ms',
    'queries/s',
    'prom CPU s',
    'bytes',
    'ctl CPU ms',
    'mismatches',
  ];
  const fmt = formatNumber;
  const body = result.modes.map((m) => [
    m.mode,
    fmt(m.queries),
    fmt(Math.round(m.wallMs)),
    fmt(Math.round(m.queriesPerS)),
    fmt(m.promCpuS),
    fmt(m.responseBytes),
    fmt(Math.round(m.controllerCpuMs)),
    fmt(m.mismatches),
  ]);
  return textTable(title, header, body);
}
