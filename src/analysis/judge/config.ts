import { createHash } from 'node:crypto';
import {
  DEFAULT_CHECK_EVERY,
  DEFAULT_JUDGE_CONFIDENCE,
  JUDGE_BUILTINS,
  type JudgeBuiltin,
  type JudgeDirection,
  type JudgeQuery,
} from '../../api/canary.ts';
import { durationMs } from '../../api/duration.ts';

// The judge as the analysis reads it: the Canary's `analysis.judge` with every default
// filled in and every tolerance parsed, one entry per judged metric (built-ins first).

export type JudgedKind = 'rate' | 'distribution';

export type Tolerance = { relative: number } | { absolute: number };

export type JudgedSource =
  | { builtin: JudgeBuiltin }
  | { rate: { events: JudgeQuery; total: JudgeQuery } }
  | { distribution: JudgeQuery };

export interface JudgedMetricConfig {
  name: string;
  kind: JudgedKind;
  source: JudgedSource;
  /** Default: relative 0 (any worsening the data can show is a regression). */
  tolerance: Tolerance;
  direction: JudgeDirection;
  critical: boolean;
  /** How values are shown: `%` for rates, `ms` for built-in latency, '' for custom distributions. */
  unit: '%' | 'ms' | '';
}

export interface JudgeConfig {
  /** 1 − confidence: the chance, over the whole rollout, that any judged metric calls a regression that is not there. */
  alpha: number;
  /** Each metric's share of alpha (alpha / number of judged metrics), so that the confidence holds for all of them at once. */
  metricAlpha: number;
  /** Cadence of the fast-fail looks between steps. */
  checkEveryMs: number;
  metrics: JudgedMetricConfig[];
}

/** The slice of `spec.analysis` the judge reads (the zod-parsed Canary fits it). */
export interface JudgeAnalysisSpec {
  checkEvery?: string;
  judge?: {
    confidence?: number;
    builtins?: readonly JudgeBuiltin[];
    metrics?: readonly {
      name: string;
      rate?: { events: JudgeQuery; total: JudgeQuery };
      distribution?: JudgeQuery;
      maxIncrease?: string;
      direction?: JudgeDirection;
      critical?: boolean;
    }[];
  };
}

/** `"10%"` → relative 0.1; `"0.5"` → absolute 0.5; throws naming the field otherwise. */
export function parseTolerance(text: string, field: string): Tolerance {
  const match = /^([0-9]+(?:\.[0-9]+)?)(%?)$/.exec(text.trim());
  if (!match) {
    throw new Error(
      `${field}: "${text}" is not a tolerance; expected e.g. "10%" (relative) or "0.5" (absolute)`,
    );
  }
  const value = Number(match[1]);
  return match[2] === '%' ? { relative: value / 100 } : { absolute: value };
}

/** The judge of a Canary, or undefined when `analysis.judge` is not set. */
export function judgeConfig(analysis: JudgeAnalysisSpec): JudgeConfig | undefined {
  const judge = analysis.judge;
  if (!judge) return undefined;
  const confidence = judge.confidence ?? DEFAULT_JUDGE_CONFIDENCE;
  const field = (i: number) => `spec.analysis.judge.metrics[${i}]`;
  const entries = judge.metrics ?? [];
  const builtins = judge.builtins ?? JUDGE_BUILTINS;
  const metrics: JudgedMetricConfig[] = [];
  const settings = (entry: (typeof entries)[number] | undefined, i: number) => ({
    tolerance: entry?.maxIncrease
      ? parseTolerance(entry.maxIncrease, `${field(i)}.maxIncrease`)
      : { relative: 0 },
    direction: entry?.direction ?? 'increase',
    critical: entry?.critical ?? true,
  });
  for (const builtin of builtins) {
    const i = entries.findIndex((entry) => entry.name === builtin && !entry.rate && !entry.distribution);
    metrics.push({
      name: builtin,
      kind: builtin === 'errors' ? 'rate' : 'distribution',
      source: { builtin },
      unit: builtin === 'errors' ? '%' : 'ms',
      ...settings(entries[i], i),
    });
  }
  entries.forEach((entry, i) => {
    const source: JudgedSource | undefined = entry.rate
      ? { rate: entry.rate }
      : entry.distribution
        ? { distribution: entry.distribution }
        : undefined;
    if (source) {
      const kind = 'rate' in source ? 'rate' : 'distribution';
      metrics.push({
        name: entry.name,
        kind,
        source,
        unit: kind === 'rate' ? '%' : '',
        ...settings(entry, i),
      });
    } else if (!(builtins as readonly string[]).includes(entry.name)) {
      throw new Error(
        `${field(i)}: "${entry.name}" has no rate or distribution and is not a built-in in spec.analysis.judge.builtins`,
      );
    }
  });
  const alpha = 1 - confidence;
  return {
    alpha,
    metricAlpha: alpha / Math.max(1, metrics.length),
    checkEveryMs: durationMs(analysis.checkEvery ?? DEFAULT_CHECK_EVERY, 'spec.analysis.checkEvery'),
    metrics,
  };
}

const keys = new WeakMap<JudgedMetricConfig, { alpha: number; key: string }>();

/** A fingerprint of what a metric's evidence depends on: a change starts its test afresh. */
export function metricKey(metric: JudgedMetricConfig, alpha: number): string {
  const known = keys.get(metric);
  if (known?.alpha === alpha) return known.key;
  const text = JSON.stringify([metric.kind, metric.source, metric.tolerance, metric.direction, alpha]);
  const key = createHash('sha256').update(text).digest('base64url').slice(0, 12);
  keys.set(metric, { alpha, key });
  return key;
}
