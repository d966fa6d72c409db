import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Histogram } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMetrics, type ControllerMetrics } from '../../src/controller/metrics.ts';
import { startHttpServer } from '../../src/controller/server.ts';
import { query, scrape, waitForSeries } from '../support/prometheus.ts';
import { DEPLOY } from './render.ts';

// deploy/grafana/sluice-dashboard.json: a Grafana dashboard whose every query names real
// metrics and labels of the controller's registry, and returns data from the real
// Prometheus once a controller's /metrics has been scraped.

const Target = z.looseObject({
  expr: z.string().min(1),
  refId: z.string(),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }),
});
const Panel = z.looseObject({
  id: z.number().int(),
  type: z.string(),
  title: z.string().min(1),
  gridPos: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }).optional(),
  targets: z.array(Target).optional(),
});
const Variable = z.looseObject({
  name: z.string(),
  type: z.string(),
  query: z.union([z.string(), z.looseObject({ query: z.string() })]),
});
const Dashboard = z.looseObject({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(36),
  templating: z.object({ list: z.array(Variable) }),
  panels: z.array(Panel).min(1),
});
type Dashboard = z.output<typeof Dashboard>;

let dashboard: Dashboard;
const metrics = createMetrics();
/** Metric name → its labels, as the registry defines them (histograms add `le`). */
const known = new Map<string, { labels: string[]; histogram: boolean }>(
  metrics.registry.getMetricsAsArray().map((metric) => [
    metric.name,
    {
      labels: (metric as unknown as { labelNames?: string[] }).labelNames ?? [],
      histogram: metric instanceof Histogram,
    },
  ]),
);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

const panels = () => dashboard.panels.filter((p) => p.type !== 'row');
const expressions = () =>
  panels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** The registry's metric a series name belongs to (histogram series carry _bucket/_sum/_count). */
function metricOf(series: string): { name: string; labels: string[] } | undefined {
  const direct = known.get(series);
  if (direct) return { name: series, labels: direct.labels };
  const match = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = match ? known.get(match[1] ?? '') : undefined;
  if (!match || !base?.histogram) return undefined;
  return { name: match[1] ?? '', labels: match[2] === 'bucket' ? [...base.labels, 'le'] : base.labels };
}

beforeAll(async () => {
  dashboard = Dashboard.parse(JSON.parse(await readFile(`${DEPLOY}/grafana/sluice-dashboard.json`, 'utf8')));
});

describe('the Grafana dashboard', () => {
  it('has the panels of the issue, one data source variable and namespace/canary/job variables', () => {
    const titles = panels().map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Canaries',
        'Canary traffic weight',
        'Failed checks',
        'Analysis duration (p95)',
        'Metric values',
        'Rollouts started',
        'Promotions',
        'Rollbacks',
        'Deployments per day',
        'Change failure rate',
        'Time to restore (median)',
        'Lead time (median)',
        'Reconcile duration',
        'Reconcile errors',
        'Tick lag (p99)',
        'Work queue depth',
        'Leader',
        'CPU',
        'Memory',
      ]),
    );
    const variables = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['namespace', 'canary', 'job']) expect(variables[name]?.type, name).toBe('query');
  });

  it('queries only through the data source variable, with unique panel ids and a tidy grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row += 1)
        for (let column = x; column < x + w; column += 1) {
          const cell = `${column},${row}`;
          expect(cells.has(cell), `${panel.title} overlaps another panel at ${cell}`).toBe(false);
          cells.add(cell);
        }
      if (panel.type !== 'row') {
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      }
    }
  });

  it('names only metrics of the controller registry, and only labels those metrics have', () => {
    const problems: string[] = [];
    const variableQueries = dashboard.templating.list.map((v) =>
      typeof v.query === 'string' ? v.query : v.query.query,
    );
    const all = [...expressions(), ...variableQueries.map((expr) => ({ panel: 'variables', expr }))];
    let checked = 0;
    for (const { panel, expr } of all) {
      for (const match of expr.matchAll(/\b(sluice_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
        checked += 1;
        const metric = metricOf(match[1] ?? '');
        if (!metric) {
          problems.push(`${panel}: ${match[1]} is not a metric of createMetrics()`);
          continue;
        }
        for (const matcher of (match[3] ?? '').matchAll(/([a-zA-Z_]+)\s*(=~|!~|!=|=)/g)) {
          const label = matcher[1] ?? '';
          if (!metric.labels.includes(label) && !TARGET_LABELS.includes(label))
            problems.push(`${panel}: ${metric.name} has no label ${label}`);
        }
      }
      // Aggregation labels exist on some metric of the expression (or come from the target).
      const names = [...expr.matchAll(/\b(sluice_[a-z0-9_]+)/g)].map((m) => metricOf(m[1] ?? ''));
      for (const by of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of (by[1] ?? '').split(',').map((l) => l.trim())) {
          if (!TARGET_LABELS.includes(label) && !names.some((m) => m?.labels.includes(label)))
            problems.push(`${panel}: "by (${label})" but no metric in the query has it`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });
});

describe('the dashboard against the real Prometheus', () => {
  const job = `sluice-dashboard-${randomBytes(3).toString('hex')}`;
  const canaryNamespace = `shop-${randomBytes(3).toString('hex')}`;
  let server: Server;
  let unscrape: () => Promise<void>;
  let controller: ControllerMetrics;

  /** What a controller that ran a few rollouts reports. */
  function report(round: number): void {
    const canary = { name: 'podinfo', namespace: canaryNamespace };
    controller.status.set(canary, 0);
    controller.phase.set({ ...canary, phase: 'Progressing' }, 1);
    controller.phase.set({ ...canary, phase: 'Succeeded' }, 0);
    controller.weight.set({ ...canary, workload: 'canary' }, 10 * round);
    controller.weight.set({ ...canary, workload: 'primary' }, 100 - 10 * round);
    controller.failedChecks.set(canary, round - 1);
    controller.metricValue.set({ ...canary, metric: 'request-success-rate' }, 99.5);
    controller.analysisDuration.observe(canary, 0.2 * round);
    for (const strategy of ['canary', 'blueGreen']) {
      const outcome = { namespace: canaryNamespace, strategy };
      controller.rolloutsStarted.inc(outcome, 2);
      controller.promotions.inc(outcome);
      controller.rollbacks.inc(outcome);
      controller.leadTime.observe({ ...outcome, source: 'commit' }, 300 * round);
      controller.rollbackDuration.observe(outcome, 3 * round);
    }
    controller.reconcileDuration.observe(0.02 * round);
    controller.reconcileErrors.inc();
    controller.tickLag.observe(0.01 * round);
    controller.queueDepth.set(round);
    controller.apiWrites.inc({ write: 'status' });
    controller.leader.set(1);
  }

  beforeAll(async () => {
    controller = createMetrics();
    report(1);
    server = await startHttpServer({
      port: 0,
      host: '127.0.0.1',
      registry: controller.registry,
      readiness: () => ({ ready: true, message: 'test' }),
    });
    unscrape = await scrape(`127.0.0.1:${(server.address() as AddressInfo).port}`, { job });
    await waitForSeries(`sluice_leader{job="${job}"}`);
    // Counters and histograms move after the first scrape, so rates and increases see it.
    report(2);
    await waitForSeries(`increase(sluice_canary_promotions_total{job="${job}"}[1m]) > 0`);
    await waitForSeries(`increase(sluice_canary_lead_time_seconds_count{job="${job}"}[1m]) > 0`);
  }, 60_000);

  afterAll(async () => {
    await unscrape?.();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** Grafana's variables as the dashboard would fill them for this controller and namespace. */
  const substitute = (expr: string) =>
    expr
      .replaceAll('$__rate_interval', '1m')
      .replaceAll('$__interval', '1m')
      .replaceAll('$__range', '1h')
      .replaceAll('$namespace', canaryNamespace)
      .replaceAll('$canary', '.*')
      .replaceAll('$job', job);

  it('every panel query returns finite values', async () => {
    const empty: string[] = [];
    for (const { panel, expr } of expressions()) {
      const samples = await query(substitute(expr));
      const values = samples.map((s) => Number(s.value[1]));
      if (values.length === 0 || !values.every(Number.isFinite))
        empty.push(`${panel}: ${substitute(expr)} → ${JSON.stringify(values)}`);
    }
    expect(empty).toEqual([]);
  });

  it('the DORA panels compute the figures the controller reported', async () => {
    const value = async (title: string) => {
      const panel = panels().find((p) => p.title === title);
      const [sample] = await query(substitute(panel?.targets?.[0]?.expr ?? ''));
      return Number(sample?.value[1]);
    };
    // One rollback per two rollouts started, in both strategies.
    expect(await value('Change failure rate')).toBeCloseTo(0.5, 1);
    expect(await value('Deployments per day')).toBeGreaterThan(0);
    expect(await value('Lead time (median)')).toBeGreaterThan(0);
    expect(await value('Time to restore (median)')).toBeGreaterThan(0);
  });

  it('the template variables list this controller, its namespace and its canary', async () => {
    const values = async (name: string) => {
      const variable = dashboard.templating.list.find((v) => v.name === name);
      const text = typeof variable?.query === 'string' ? variable.query : (variable?.query.query ?? '');
      const [, selector, label] = /^label_values\((.*),\s*(\w+)\)$/.exec(text) ?? [];
      const samples = await query(`count by (${label}) (${substitute(selector ?? '')})`);
      return samples.map((s) => s.metric[label ?? ''] ?? '');
    };
    expect(await values('job')).toContain(job);
    expect(await values('namespace')).toContain(canaryNamespace);
    expect(await values('canary')).toEqual(['podinfo']);
  });
});
