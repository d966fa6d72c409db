import { describe, expect, it } from 'vitest';
import { BUILTIN_QUERY_SETS } from './builtins.ts';
import {
  JudgeState,
  judge,
  judgeConfig,
  judgeStatusEntry,
  lookOutcome,
  summarizeJudge,
  type JudgeDeps,
} from './judge.ts';
import { ARM_MATCHER, JUDGE_QUERY_SETS } from './judge/builtins.ts';
import {
  MetricError,
  oneLine,
  type LabelledValue,
  type MetricProvider,
  type QueryOptions,
} from './providers/provider.ts';
import type { MetricTemplate } from './types.ts';

// judge() over the provider interface with an in-memory provider: which queries it sends
// for each arm, what it does with their answers, and how a failing query shows.

interface Recorded {
  query: string;
  at: number | undefined;
}

/** Answers by the first pattern that matches the query; records every query. */
function fakeProvider(
  answers: [RegExp, number | LabelledValue[] | Error][],
  recorded: Recorded[],
  withSeries = true,
): MetricProvider {
  const answer = (query: string) => {
    const found = answers.find(([pattern]) => pattern.test(query));
    if (!found)
      throw new MetricError('noData', { provider: 'fake', query, message: `no values for ${query}` });
    if (found[1] instanceof Error) throw found[1];
    return found[1];
  };
  const provider: MetricProvider = {
    type: 'prometheus',
    async runQuery(query: string, options?: QueryOptions) {
      recorded.push({ query: oneLine(query), at: options?.at });
      const value = answer(oneLine(query));
      if (Array.isArray(value)) throw new Error('expected a number');
      return value;
    },
    async isOnline() {
      return { online: true };
    },
  };
  if (withSeries) {
    provider.runSeriesQuery = async (query: string, options?: QueryOptions) => {
      recorded.push({ query: oneLine(query), at: options?.at });
      const value = answer(oneLine(query));
      if (!Array.isArray(value)) throw new Error('expected series');
      return value;
    };
  }
  return provider;
}

const canary = {
  name: 'podinfo',
  namespace: 'test',
  target: 'podinfo',
  metricsServer: 'http://prometheus:9090',
};

function buckets(counts: number[]): LabelledValue[] {
  const les = ['0.05', '0.1', '0.25', '0.5', '+Inf'];
  let sum = 0;
  return les.map((le, i) => {
    sum += counts[i] ?? 0;
    return { labels: { le }, value: sum };
  });
}

function deps(provider: MetricProvider, extra: Partial<JudgeDeps> = {}): JudgeDeps {
  return {
    canary,
    getTemplate: async () => undefined,
    createProvider: () => provider,
    ...extra,
  };
}

/** Providers whose judged queries tell the arms apart by the Service a request went to. */
const BY_SERVICE = new Set(['contour', 'traefik', 'kuma', 'gloo', 'skipper']);
const JUDGED = Object.keys(BUILTIN_QUERY_SETS).filter(
  (set) => !('unavailable' in JUDGE_QUERY_SETS[set as keyof typeof JUDGE_QUERY_SETS]),
);

describe('judge() with the built-in metrics', () => {
  it.each(JUDGED)('queries both arms for the %s provider', async (set) => {
    const provider = BUILTIN_QUERY_SETS[set as keyof typeof BUILTIN_QUERY_SETS].providers[0];
    const recorded: Recorded[] = [];
    const fake = fakeProvider(
      [
        [/le\)/, buckets([50, 40, 8, 1, 1])],
        [/5\.\*|failure/, 1],
        [/./, 100],
      ],
      recorded,
    );
    const config = judgeConfig({ judge: {} })!;
    const result = await judge(
      config,
      deps(fake, { canary: { ...canary, provider, ingress: 'web' } }),
      undefined,
      {
        now: Date.UTC(2025, 0, 1),
      },
    );
    // The first look with traffic only starts the comparison (it may straddle the canary's start).
    expect(result.verdicts.map((v) => [v.name, v.outcome])).toEqual([
      ['errors', 'noData'],
      ['latency', 'noData'],
    ]);
    expect(result.verdicts[0]!.reason).toBe(
      'errors: traffic on both arms from this look on; the comparison starts at the next look',
    );
    expect(recorded).toHaveLength(6);
    const texts = recorded.map((r) => r.query).join('\n');
    expect(texts).toContain('[1s]');
    if (set === 'nginx') {
      expect(texts).toContain('canary!=""');
      expect(texts).toContain('canary=""');
    } else if (BY_SERVICE.has(set)) {
      // The Service names of both arms, every placeholder filled (kuma's and gloo's name it twice).
      const service = set === 'skipper' ? /podinfo_(canary|primary)/g : /podinfo-(canary|primary)/g;
      expect(new Set([...texts.matchAll(service)].map((m) => m[1]))).toEqual(new Set(['canary', 'primary']));
      expect(texts).not.toContain(ARM_MATCHER);
      expect(texts).not.toMatch(/primary[-_]primary/);
    } else {
      expect(texts).toMatch(/"podinfo"|"podinfo-\[/);
      expect(texts).toContain('podinfo-primary');
    }
  });

  it('counts since the judge started, and asks for the historical instant when replaying', async () => {
    const recorded: Recorded[] = [];
    const fake = fakeProvider(
      [
        [/le\)/, buckets([5, 4, 1, 0, 0])],
        [/5\.\*/, 0],
        [/./, 10],
      ],
      recorded,
    );
    const config = judgeConfig({ judge: { builtins: ['errors'] } })!;
    const since = Date.UTC(2025, 0, 1);
    const first = await judge(config, deps(fake), undefined, { now: since });
    const later = await judge(config, deps(fake), first.state, { now: since + 95_500, historical: true });
    expect(later.state.since).toBe(since);
    expect(recorded.at(-1)).toMatchObject({ at: since + 95_500 });
    expect(recorded.at(-1)!.query).toContain('[1m36s]');
    expect(recorded[0]!.at).toBeUndefined();
    expect(JudgeState.parse(JSON.parse(JSON.stringify(later.state)))).toEqual(later.state);
  });

  it('rolls back on a critical regression and explains it in one line and a bounded status entry', async () => {
    const config = judgeConfig({ judge: { builtins: ['errors'] } })!;
    let state: JudgeState | undefined;
    let result;
    for (let minute = 1; minute <= 5; minute++) {
      const fake = fakeProvider(
        [
          [/"podinfo-primary".*5\.\*/s, 30 * minute],
          [/"podinfo-primary"/, 5400 * minute],
          [/5\.\*/, 12 * minute],
          [/./, 600 * minute],
        ],
        [],
      );
      result = await judge(config, deps(fake), state, { now: Date.UTC(2025, 0, 1, 0, minute) });
      state = result.state;
    }
    expect(result!.rollback.map((v) => v.name)).toEqual(['errors']);
    expect(lookOutcome(result!, false)).toEqual({ rollback: result!.rollback[0]!.reason, failures: [] });
    expect(summarizeJudge(result!)).toMatch(/^judge: errors: canary 2 % \(60\/3000\) vs primary 0\.556 % /);
    const entry = judgeStatusEntry(result!.rollback[0]!);
    expect(entry).toMatchObject({ name: 'errors', outcome: 'fail', canary: '2', primary: '0.5556' });
    expect(entry.effect).toMatch(/^3\.6 \[\d/);
  });

  it('gives a metric whose query fails a verdict of its own and keeps its state', async () => {
    const config = judgeConfig({ judge: {} })!;
    const good = fakeProvider(
      [
        [/le\)/, buckets([5, 4, 1, 0, 0])],
        [/5\.\*/, 0],
        [/./, 10],
      ],
      [],
    );
    const first = await judge(config, deps(good), undefined, { now: 1_000_000 });
    const broken = fakeProvider(
      [
        [
          /le\)/,
          new MetricError('http', {
            provider: 'prometheus',
            query: 'q',
            message: 'prometheus is unreachable',
          }),
        ],
        [/5\.\*/, 0],
        [/./, 20],
      ],
      [],
    );
    const second = await judge(config, deps(broken), first.state, { now: 1_005_000 });
    expect(second.unanswered).toMatchObject([
      { name: 'latency', outcome: 'error', reason: 'latency: prometheus is unreachable' },
    ]);
    expect(second.state.metrics.latency).toEqual(first.state.metrics.latency);
    // Between rounds a metric without a verdict changes nothing; at a round it is a failed check.
    expect(lookOutcome(second, false).failures).toEqual([]);
    expect(lookOutcome(second, true).failures).toEqual(['latency: prometheus is unreachable']);
    expect(summarizeJudge(second)).toBe(
      'judge: 1 of 2 metrics show no regression; latency: prometheus is unreachable',
    );
  });

  it('refuses the built-ins for apisix, whose series cannot tell the arms apart, saying why', async () => {
    const config = judgeConfig({ judge: { builtins: ['errors'] } })!;
    const apisix = await judge(
      config,
      deps(fakeProvider([], []), { canary: { ...canary, provider: 'apisix' } }),
      undefined,
      { now: 0 },
    );
    expect(apisix.verdicts[0]!.reason).toMatch(
      /^errors: provider "apisix" has no built-in judged metric errors: APISIX's series .* use custom judged metrics/,
    );
  });

  it('names the provider when it has no built-in judged metrics', async () => {
    const config = judgeConfig({ judge: { builtins: ['errors'] } })!;
    const fake = fakeProvider([], []);
    const result = await judge(
      config,
      deps(fake, { canary: { ...canary, provider: 'appmesh' } }),
      undefined,
      {
        now: 0,
      },
    );
    expect(result.unanswered[0]!.reason).toMatch(
      /^errors: provider "appmesh" has no built-in judged metric errors/,
    );
  });
});

describe('judge() with custom judged metrics from MetricTemplates', () => {
  const templates: Record<string, MetricTemplate> = {
    'queue-failures': {
      metadata: { name: 'queue-failures', namespace: 'test' },
      spec: {
        provider: { type: 'prometheus' },
        query: 'sum(increase(jobs_failed_total{app="{{ target }}"}[{{ interval }}]))',
      },
    },
    'queue-jobs': {
      metadata: { name: 'queue-jobs', namespace: 'test' },
      spec: {
        provider: { type: 'prometheus' },
        query: 'sum(increase(jobs_total{app="{{ target }}"}[{{ interval }}]))',
      },
    },
    'render-buckets': {
      metadata: { name: 'render-buckets', namespace: 'test' },
      spec: {
        provider: { type: 'prometheus' },
        query:
          'sum by (le) (increase(render_seconds_bucket{app="{{ target }}", page="{{ variables.page }}"}[{{ interval }}]))',
      },
    },
  };
  const config = judgeConfig({
    judge: {
      builtins: [],
      metrics: [
        {
          name: 'queue',
          rate: {
            events: { templateRef: { name: 'queue-failures' } },
            total: { templateRef: { name: 'queue-jobs' } },
          },
        },
        {
          name: 'render',
          distribution: { templateRef: { name: 'render-buckets' }, templateVariables: { page: 'home' } },
        },
      ],
    },
  })!;

  it('renders each template once per arm and judges the answers', async () => {
    const recorded: Recorded[] = [];
    const fake = fakeProvider(
      [
        [/render_seconds_bucket/, buckets([10, 5, 1, 0, 0])],
        [/jobs_failed_total/, 1],
        [/jobs_total/, 50],
      ],
      recorded,
    );
    const result = await judge(
      config,
      deps(fake, { getTemplate: async (ref) => templates[ref.name] }),
      undefined,
      { now: 0 },
    );
    expect(result.verdicts.map((v) => [v.name, v.kind, v.outcome])).toEqual([
      ['queue', 'rate', 'noData'],
      ['render', 'distribution', 'noData'],
    ]);
    expect(recorded.map((r) => r.query).sort()).toEqual([
      'sum by (le) (increase(render_seconds_bucket{app="podinfo", page="home"}[1s]))',
      'sum by (le) (increase(render_seconds_bucket{app="podinfo-primary", page="home"}[1s]))',
      'sum(increase(jobs_failed_total{app="podinfo"}[1s]))',
      'sum(increase(jobs_failed_total{app="podinfo-primary"}[1s]))',
      'sum(increase(jobs_total{app="podinfo"}[1s]))',
      'sum(increase(jobs_total{app="podinfo-primary"}[1s]))',
    ]);
  });

  it('refuses a distribution from a provider that cannot return labelled series', async () => {
    const fake = fakeProvider([[/./, 1]], [], false);
    const result = await judge(
      config,
      deps(fake, { getTemplate: async (ref) => templates[ref.name] }),
      undefined,
      { now: 0 },
    );
    expect(result.unanswered.filter((v) => v.outcome === 'error').map((v) => v.reason)).toEqual([
      'render: prometheus provider cannot return histogram buckets with their le label; a judged distribution needs prometheus',
    ]);
  });

  it('names a missing template', async () => {
    const fake = fakeProvider([[/./, 1]], []);
    const result = await judge(config, deps(fake), undefined, { now: 0 });
    expect(result.unanswered[0]!.reason).toBe(
      'queue: MetricTemplate test/queue-failures (templateRef) not found',
    );
  });
});
