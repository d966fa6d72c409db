import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/evaluate.ts';
import { createProvider } from '../../src/analysis/providers/factory.ts';
import type { MetricProvider } from '../../src/analysis/providers/provider.ts';
import { credentialsFromSecretData } from '../../src/analysis/providers/secret.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startGraphite, startInfluxd, type RunningServer } from '../support/metric-servers.ts';
import { freePort } from '../../src/dev/process.ts';
import { queryFailure, analysisDeps, applyTemplate } from './servers.ts';

// The influxdb and graphite providers against the real servers Debian ships: bookworm's
// InfluxDB 1.6 (InfluxQL; it has no Flux, which vendor-providers.test.ts covers against an
// imitation of /api/v2/query) and graphite-carbon + graphite-web. Alone, and through
// MetricTemplates whose Secrets live on the real apiserver.

const ns = useNamespace('analysis-real');

const failure = (provider: MetricProvider, query: string) => queryFailure(provider, query, 5000);

const deps = () => analysisDeps(ns, 5000);

/** An address where nothing listens. */
const unreachable = async () => `http://127.0.0.1:${await freePort()}`;

async function template(
  name: string,
  provider: Record<string, unknown>,
  query: string,
  secret?: Record<string, string>,
) {
  if (secret) {
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name }, stringData: secret },
    });
  }
  await applyTemplate(ns, name, {
    provider: { ...provider, ...(secret ? { secretRef: { name } } : {}) },
    query,
  });
}

describe("influxdb provider against Debian's InfluxDB (InfluxQL)", () => {
  const admin = { username: 'sluice', password: 'influx-pass-1' };
  let influx: RunningServer;
  const secret = { ...admin, db: 'shop' };
  const provider = (data: Record<string, string> = secret, address = influx.url) =>
    createProvider({
      provider: { type: 'influxdb', address },
      credentials: credentialsFromSecretData(data, `${ns.name}/influx`),
      intervalMs: 60_000,
    });

  beforeAll(async () => {
    influx = await startInfluxd(admin);
    const auth = {
      Authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
    };
    const created = await fetch(`${influx.url}/query`, {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ q: 'CREATE DATABASE shop' }),
    });
    expect(created.status).toBe(200);
    const now = Date.now() * 1e6;
    const lines = [
      `requests,app=podinfo,pod=podinfo-a errors=2,total=100 ${now - 20e9}`,
      `requests,app=podinfo,pod=podinfo-b errors=4,total=100 ${now - 10e9}`,
      `requests,app=podinfo-primary,pod=podinfo-primary-a errors=50,total=100 ${now - 10e9}`,
    ];
    const written = await fetch(`${influx.url}/write?db=shop`, {
      method: 'POST',
      headers: auth,
      body: lines.join('\n'),
    });
    expect(written.status).toBe(204);
  }, 120_000);
  afterAll(async () => {
    await influx?.stop();
  });

  it('reads one value, one per series, and refuses no data', async () => {
    const rate = `SELECT sum("errors") / sum("total") * 100 FROM "requests"
                  WHERE "app" = 'podinfo' AND time > now() - 5m`;
    expect(await provider().runQuery(rate)).toBe(3);
    expect(await provider().runQuery(`${rate} GROUP BY "pod"`)).toEqual([2, 4]);
    const none = await failure(provider(), `SELECT sum("errors") FROM "requests" WHERE "app" = 'nobody'`);
    expect(none.kind).toBe('noData');
    expect(none.message).toBe(
      `no values from influxdb for query SELECT sum("errors") FROM "requests" WHERE "app" = 'nobody'`,
    );
  });

  it('names the provider and the query for a bad query, two fields, Flux, and refused credentials', async () => {
    const bad = await failure(provider(), 'SELECT sum(errors FROM requests');
    expect(bad.kind).toBe('query');
    expect(bad.message).toMatch(
      /^influxdb rejected the query \(HTTP 400\): error parsing query: .*: SELECT sum\(errors FROM requests$/,
    );
    const two = await failure(provider(), 'SELECT sum("errors"), sum("total") FROM "requests"');
    expect(two.message).toBe(
      'influxdb: the query selects 2 fields (sum, sum_1); select one: SELECT sum("errors"), sum("total") FROM "requests"',
    );
    const flux = await failure(provider(), 'from(bucket: "shop")\n  |> range(start: -5m)');
    expect(flux.kind).toBe('query');
    expect(flux.message).toMatch(/does not serve Flux .* write the query in InfluxQL/);
    const refused = await failure(
      provider({ ...secret, password: 'wrong-password' }),
      'SELECT sum("errors") FROM "requests"',
    );
    expect(refused.kind).toBe('auth');
    expect(refused.message).not.toContain('wrong-password');
  });

  it('isOnline signs in', async () => {
    expect(await provider().isOnline()).toEqual({ online: true });
    const refused = await provider({ ...secret, password: 'wrong-password' }).isOnline();
    expect(!refused.online && refused.error.kind).toBe('auth');
    const status = await provider(secret, await unreachable()).isOnline({ timeoutMs: 2000 });
    expect(!status.online && status.error.kind).toBe('http');
  });

  it('runs an influxdb MetricTemplate with user, password and database from its Secret', async () => {
    await template(
      'influx-errors',
      { type: 'influxdb', address: influx.url },
      `SELECT sum("errors") / sum("total") * 100 FROM "requests" WHERE "app" = '{{ target }}' AND time > now() - 5m`,
      secret,
    );
    const result = await runAnalysis(
      [{ name: 'errors', templateRef: { name: 'influx-errors' }, thresholdRange: { max: 5 } }],
      deps(),
    );
    expect(result.checks[0]).toMatchObject({ passed: true, value: 3 });
  });
});

describe("graphite provider against Debian's graphite-carbon and graphite-web", () => {
  let graphite: RunningServer & { send(lines: string[]): Promise<void> };
  const provider = (address = graphite.url) =>
    createProvider({ provider: { type: 'graphite', address }, intervalMs: 60_000 });

  beforeAll(async () => {
    graphite = await startGraphite();
    const now = Math.floor(Date.now() / 1000);
    await graphite.send([
      `stats.podinfo.requests.ok 95 ${now - 30}`,
      `stats.podinfo.requests.ok 97 ${now - 20}`,
      `stats.podinfo.requests.error 3 ${now - 20}`,
      `stats.podinfo-primary.requests.ok 50 ${now - 20}`,
    ]);
    // carbon writes the points a moment later; wait until graphite-web serves them.
    await eventually(
      'graphite serves the points',
      async () => {
        const response = await fetch(
          `${graphite.url}/render?target=stats.*.requests.*&from=-2min&format=json`,
        );
        const body = (await response.json()) as unknown[];
        return body.length === 3;
      },
      { timeoutMs: 30_000 },
    );
  }, 300_000);
  afterAll(async () => {
    await graphite?.stop();
  });

  it('reads the last point, one per target, and refuses no data', async () => {
    expect(await provider().runQuery('target=stats.podinfo.requests.ok&from=-2min')).toBe(97);
    expect(
      await provider().runQuery(`target=asPercent(
          stats.podinfo.requests.error,
          sumSeries(stats.podinfo.requests.*)
        )&from=-2min`),
    ).toBe(3);
    expect(await provider().runQuery('target=stats.podinfo.requests.*&from=-2min')).toEqual([3, 97]);
    const none = await failure(provider(), 'target=stats.nobody.requests.ok&from=-2min');
    expect(none.kind).toBe('noData');
    expect(none.message).toBe('no values from graphite for query target=stats.nobody.requests.ok&from=-2min');
    const noTarget = await failure(provider(), 'stats.podinfo.requests.ok');
    expect(noTarget.message).toMatch(/^graphite: the query must hold render parameters with a target/);
  });

  it('isOnline renders, and an unreachable graphite is offline', async () => {
    expect(await provider().isOnline()).toEqual({ online: true });
    const status = await provider(await unreachable()).isOnline({ timeoutMs: 2000 });
    expect(!status.online && status.error.kind).toBe('http');
  });

  it("runs Flagger's graphite MetricTemplate shape", async () => {
    await template(
      'graphite-success',
      { type: 'graphite', address: graphite.url },
      `target=asPercent(
         stats.{{ target }}.requests.ok,
         sumSeries(stats.{{ target }}.requests.*)
       )&from=-5min`,
    );
    const result = await runAnalysis(
      [
        {
          name: 'success',
          templateRef: { name: 'graphite-success' },
          interval: '2m',
          thresholdRange: { min: 99 },
        },
      ],
      deps(),
    );
    expect(result.checks[0]).toMatchObject({ passed: false, value: 97, reason: 'success: 97 < min 99' });
  });
});
