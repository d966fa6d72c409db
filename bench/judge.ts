import type { Canary, CanaryInput } from '../src/api/canary.ts';
import { parseCanary } from '../src/api/validate.ts';
import { replay } from '../src/replay/engine.ts';
import type { Figures } from './report.ts';
import { percentile } from './stats.ts';
import {
  generateTraffic,
  randomLatency,
  seededRandom,
  trafficProvider,
  type Regression,
  type TrafficParams,
} from './traffic.ts';
import { canaryObject } from '../test/support/canaries.ts';

// `npm run bench -- judge`: the statistical judge against the fixed-threshold rule on traffic
// whose truth is known. Every trial generates one environment (load, split, error rate,
// latency, drift, bursts) and replays the same series, through the metric-provider interface,
// to the real analysis: `sluice replay`'s engine drives the pure machine with a replayed clock,
// thresholds are evaluated by evaluate.ts and the judge by judge.ts.

export const CASES = {
  none: {},
  err05pp: { addErrors: 0.005 },
  err1pp: { addErrors: 0.01 },
  err2x: { multiplyErrors: 2 },
  lat10: { multiplyLatency: 1.1 },
  lat20: { multiplyLatency: 1.2 },
  lat50: { multiplyLatency: 1.5 },
} as const satisfies Record<string, Regression>;
export type CaseName = keyof typeof CASES;

/**
 * judge: `analysis.judge: {}` (errors and latency, 99 %), fast-fail looks every 10s. fixed5 / fixed1:
 * Flagger's rule, success rate ≥ 99 over 1m, interval 1m, threshold 5 / 1. fixed5_p99: the
 * same with Flagger's documented request-duration check (p99 ≤ 500 ms) added, for latency.
 */
export const METHODS = ['judge', 'fixed5', 'fixed1', 'fixed5_p99'] as const;
export type Method = (typeof METHODS)[number];

export type Scenario = 'target' | 'mixed';

const START_MS = Date.UTC(2025, 0, 1);
const INTERVAL_S = 60;
const ROUNDS = 10;
/** The rollout: pre-rollout at 0 %, then the share for ten one-minute rounds, then promotion. */
const DURATION_S = INTERVAL_S * (ROUNDS + 3);

/** The Canary of a method at a canary share (whole percent). */
export function benchCanary(method: Method, sharePercent: number): Canary {
  const analysis: CanaryInput['spec']['analysis'] = {
    interval: `${INTERVAL_S}s`,
    threshold: method === 'fixed1' ? 1 : 5,
    steps: [{ setWeight: sharePercent }, ...Array.from({ length: ROUNDS }, () => ({ analysis: {} }))],
  };
  if (method === 'judge') {
    analysis.judge = {};
    analysis.checkEvery = '10s';
  } else {
    analysis.metrics = [{ name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }];
    if (method === 'fixed5_p99') {
      analysis.metrics.push({ name: 'request-duration', interval: '1m', thresholdRange: { max: 500 } });
    }
  }
  const parsed = parseCanary(canaryObject('bench', { metricsServer: 'http://bench.invalid:9090', analysis }));
  if (!parsed.ok) throw new Error(`bench canary: ${JSON.stringify(parsed.issues)}`);
  return parsed.canary;
}

export interface TrialResult {
  rolledBack: boolean;
  /** Seconds from the canary's first traffic to the rollback. */
  detectS: number | undefined;
}

/** The environment of one trial of a scenario, drawn from its seed. */
export function trialParams(scenario: Scenario, seed: number): { params: TrafficParams; seed: number } {
  const random = seededRandom(seed);
  const params: TrafficParams =
    scenario === 'target'
      ? { rate: 100, share: 0.1, errorRate: 0.005, canaryStartS: INTERVAL_S, durationS: DURATION_S }
      : {
          rate: random.logUniform(20, 200),
          share: Math.round(random.uniform(5, 50)) / 100,
          errorRate: random.logUniform(0.001, 0.01),
          canaryStartS: INTERVAL_S,
          durationS: DURATION_S,
        };
  return { params, seed: (seed * 2654435761) >>> 0 };
}

/** One trial: the same generated traffic replayed to every method. */
export async function runTrial(
  scenario: Scenario,
  caseName: CaseName,
  seed: number,
  methods: readonly Method[] = METHODS,
): Promise<Record<Method, TrialResult>> {
  const { params, seed: trafficSeed } = trialParams(scenario, seed);
  const random = seededRandom(trafficSeed);
  const latency = randomLatency(random);
  const traffic = generateTraffic(random, params, latency, CASES[caseName]);
  const provider = trafficProvider(traffic, START_MS, 'podinfo');
  const results = {} as Record<Method, TrialResult>;
  for (const method of methods) {
    const outcome = await replay({
      canary: benchCanary(method, Math.round(params.share * 100)),
      templates: [],
      from: START_MS,
      to: START_MS + DURATION_S * 1000,
      createProvider: () => provider,
      explain: false,
    });
    const rolledBack = outcome.result === 'rollback';
    results[method] = {
      rolledBack,
      detectS: rolledBack ? (outcome.at - START_MS) / 1000 - params.canaryStartS : undefined,
    };
  }
  return results;
}

export interface CaseFigures {
  trials: number;
  rollbackPct: number;
  caughtWithin5mPct: number;
  detectMedianS: number;
  detectP90S: number;
}

export function caseFigures(results: readonly TrialResult[]): CaseFigures {
  const times = results.flatMap((r) => (r.detectS === undefined ? [] : [r.detectS]));
  const pct = (count: number) => (100 * count) / Math.max(1, results.length);
  return {
    trials: results.length,
    rollbackPct: pct(times.length),
    caughtWithin5mPct: pct(times.filter((t) => t <= 300).length),
    detectMedianS: percentile(times, 50),
    detectP90S: percentile(times, 90),
  };
}

/** The key=value figures: per method, caught %/median/p90 per regression case and the false rollback %. */
export function keyFigures(
  figures: Record<Method, Record<CaseName, CaseFigures>>,
  methods: readonly Method[] = METHODS,
): Figures {
  const out: Figures = {};
  for (const method of methods) {
    const prefix = method === 'judge' ? '' : `${method}_`;
    const byCase = figures[method];
    out[`${prefix}false_rollback_pct`] = byCase.none.rollbackPct;
    for (const name of Object.keys(CASES) as CaseName[]) {
      if (name === 'none') continue;
      out[`${prefix}caught_pct_${name}`] = byCase[name].rollbackPct;
      out[`${prefix}caught5m_pct_${name}`] = byCase[name].caughtWithin5mPct;
      out[`${prefix}detect_median_s_${name}`] = byCase[name].detectMedianS;
      out[`${prefix}detect_p90_s_${name}`] = byCase[name].detectP90S;
    }
  }
  return out;
}

/** Rows of the table people read: one per case, the methods side by side. */
export function figureRows(
  figures: Record<Method, Record<CaseName, CaseFigures>>,
  methods: readonly Method[] = METHODS,
): string[] {
  const cell = (value: number) => (Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '–');
  const header = ['case', ...methods.flatMap((m) => [`${m} rollback %`, `≤5m %`, 'median s', 'p90 s'])];
  const rows = (Object.keys(CASES) as CaseName[]).map((name) => [
    name,
    ...methods.flatMap((m) => {
      const f = figures[m][name];
      return [cell(f.rollbackPct), cell(f.caughtWithin5mPct), cell(f.detectMedianS), cell(f.detectP90S)];
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export interface JudgeBenchOptions {
  trials: number;
  seed: number;
  scenarios: readonly Scenario[];
  onProgress?: (text: string) => void;
}

export async function runJudgeBench(
  options: JudgeBenchOptions,
): Promise<Record<Scenario, Record<Method, Record<CaseName, CaseFigures>>>> {
  const out = {} as Record<Scenario, Record<Method, Record<CaseName, CaseFigures>>>;
  for (const scenario of options.scenarios) {
    const perMethod = Object.fromEntries(METHODS.map((m) => [m, {}])) as Record<
      Method,
      Record<CaseName, CaseFigures>
    >;
    for (const name of Object.keys(CASES) as CaseName[]) {
      const results = Object.fromEntries(METHODS.map((m) => [m, [] as TrialResult[]])) as Record<
        Method,
        TrialResult[]
      >;
      const started = Date.now();
      for (let trial = 0; trial < options.trials; trial++) {
        const one = await runTrial(scenario, name, options.seed + trial);
        for (const method of METHODS) results[method].push(one[method]);
      }
      for (const method of METHODS) perMethod[method][name] = caseFigures(results[method]);
      options.onProgress?.(
        `${scenario} ${name}: ${options.trials} trials in ${((Date.now() - started) / 1000).toFixed(1)}s; rollback % ${METHODS.map((m) => `${m} ${perMethod[m][name].rollbackPct.toFixed(1)}`).join(', ')}`,
      );
    }
    out[scenario] = perMethod;
  }
  return out;
}
