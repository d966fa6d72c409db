import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../src/analysis/evaluate.ts';
import { createProvider } from '../../src/analysis/providers/factory.ts';
import type { MetricProvider } from '../../src/analysis/providers/provider.ts';
import { credentialsFromSecretData } from '../../src/analysis/providers/secret.ts';
import { useNamespace } from '../support/kube.ts';
import { queryFailure, type LocalServer, analysisDeps, applyTemplate } from './servers.ts';
import {
  AWS,
  cloudWatchApi,
  dynatraceApi,
  fluxApi,
  googleMonitoringApi,
  newRelicApi,
  serviceAccount,
  signalFxApi,
  type Series,
} from './vendors.ts';

// The SaaS providers (and InfluxDB's Flux, which Debian's InfluxDB does not serve) against
// local servers that answer as each vendor's documented API does and check the request:
// SigV4 recomputed with the signer library, the Google token exchange, API keys. Each
// provider is run alone (values, several series, no data, a rejected query, refused
// credentials, isOnline) and through a MetricTemplate whose Secret is on the real apiserver.

const ns = useNamespace('analysis-vendors');

/** What each imitation "has": one series ending in 3.5, two series, none; "broken" is refused. */
const series: Series = (query) => {
  if (query.includes('broken')) return undefined;
  if (query.includes('pair'))
    return [
      [1, 7],
      [2, null],
    ];
  if (query.includes('empty')) return [];
  return [[1, 2, 3.5]];
};

interface Vendor {
  type: string;
  start(): Promise<LocalServer>;
  provider: (server: LocalServer) => Record<string, unknown>;
  secret: (server: LocalServer) => Record<string, string>;
  /** The same Secret with the credential spoiled. */
  wrongSecret: (server: LocalServer) => Record<string, string>;
  /** The query for a word of `series` (templates may use {{ target }}). */
  query: (word: string) => string;
  /** What the server must have received for the single-series query. */
  sent?: (server: LocalServer) => void;
  /** Values for the word "pair". */
  pair?: number[];
}

const google = {
  project: 'shop-prod',
  server: undefined as Awaited<ReturnType<typeof googleMonitoringApi>> | undefined,
};
const googleKey = { key: '', publicKey: '' };

/** New Relic (account 1234567) with one of its keys in the Secret: `right`, or `wrong` for wrongSecret. */
function newRelic(
  key: 'newrelic_query_key' | 'newrelic_api_key',
  right: string,
  wrong: string,
  sent: Vendor['sent'],
): Vendor {
  return {
    type: 'newrelic',
    start: () => newRelicApi('1234567', { queryKey: 'NRIQ-query-key', apiKey: 'NRAK-user-key' }, series),
    provider: (server) => ({ type: 'newrelic', address: server.url }),
    secret: () => ({ newrelic_account_id: '1234567', [key]: right }),
    wrongSecret: () => ({ newrelic_account_id: '1234567', [key]: wrong }),
    query: (word) => `SELECT ${word} FROM Metric WHERE app = '{{ target }}'`,
    sent,
  };
}

const vendors: Vendor[] = [
  {
    type: 'cloudwatch',
    start: () => cloudWatchApi('eu-west-1', series),
    provider: (server) => ({ type: 'cloudwatch', region: 'eu-west-1', address: server.url }),
    secret: () => ({ aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: AWS.secretAccessKey }),
    wrongSecret: () => ({ aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: 'not-the-secret' }),
    query: (word) =>
      word === 'pair'
        ? '[{"Id": "a", "Expression": "single"}, {"Id": "b", "Expression": "SUM(single)"}, {"Id": "c", "Expression": "hidden", "ReturnData": false}]'
        : `[{"Id": "e1", "Expression": "${word} {{ target }}", "Label": "ErrorRate"}]`,
    pair: [3.5, 3.5],
    sent: (server) => {
      const request = server.received.at(-1);
      expect(request?.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
      const body = JSON.parse(request?.body ?? '{}') as {
        StartTime: number;
        EndTime: number;
        MaxDatapoints: number;
      };
      expect(body.EndTime - body.StartTime).toBe(600); // ten 1m intervals, as Flagger
      expect(body.MaxDatapoints).toBe(20);
    },
  },
  // The query key reads NRQL over REST; a user API key goes through NerdGraph.
  newRelic('newrelic_query_key', 'NRIQ-query-key', 'NRIQ-stale', (server) => {
    expect(server.received.at(-1)?.url.searchParams.get('nrql')).toMatch(/ SINCE 60 seconds ago$/);
  }),
  newRelic('newrelic_api_key', 'NRAK-user-key', 'NRAK-revoked', (server) => {
    expect(server.received.at(-1)?.url.pathname).toBe('/graphql');
  }),
  {
    type: 'dynatrace',
    start: () => dynatraceApi('dt0c01.TOKEN', series),
    provider: (server) => ({ type: 'dynatrace', address: server.url }),
    secret: () => ({ dynatrace_token: 'dt0c01.TOKEN' }),
    wrongSecret: () => ({ dynatrace_token: 'dt0c01.OTHER' }),
    query: (word) => `builtin:service.response.time:filter(eq(dt.entity.service,${word})):percentile(95)`,
    sent: (server) => {
      const params = server.received.at(-1)?.url.searchParams;
      expect(Number(params?.get('to')) - Number(params?.get('from'))).toBe(600_000);
    },
  },
  {
    type: 'splunk',
    start: () => signalFxApi('sf-token', series),
    provider: (server) => ({ type: 'splunk', address: server.url }),
    secret: () => ({ sf_token_key: 'sf-token' }),
    wrongSecret: () => ({ sf_token_key: 'sf-other' }),
    query: (word) => `A = data('${word}', filter=filter('sf_service', '{{ target }}')).sum()\nA.publish()`,
    sent: (server) => {
      const request = server.received.at(-1);
      expect(request?.headers['content-type']).toBe('text/plain');
      expect(request?.url.searchParams.get('immediate')).toBe('true');
      expect(request?.body).toContain('\nA.publish()');
    },
  },
  {
    type: 'stackdriver',
    start: async () => {
      google.server = await googleMonitoringApi(google.project, series);
      Object.assign(googleKey, serviceAccount(`${google.server.url}/token`));
      google.server.trust(googleKey.publicKey);
      return google.server;
    },
    provider: (server) => ({ type: 'stackdriver', address: server.url }),
    secret: () => ({ project: google.project, serviceAccountKey: googleKey.key }),
    wrongSecret: () => ({
      project: google.project,
      serviceAccountKey: serviceAccount(`${google.server?.url}/token`).key,
    }),
    query: (word) =>
      `fetch k8s_container\n| metric '${word}'\n| filter resource.container_name == '{{ target }}'`,
    sent: (server) => {
      const token = server.received.findLast((request) => request.url.pathname === '/token');
      expect(new URLSearchParams(token?.body).get('grant_type')).toBe(
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      );
    },
  },
  {
    type: 'influxdb',
    start: () => fluxApi('influx-token', 'shop', series),
    provider: (server) => ({ type: 'influxdb', address: server.url }),
    secret: () => ({ token: 'influx-token', org: 'shop' }),
    wrongSecret: () => ({ token: 'other-token', org: 'shop' }),
    query: (word) =>
      `from(bucket: "${word}")\n  |> range(start: -1m)\n  |> filter(fn: (r) => r.app == "{{ target }}")`,
  },
];

function providerOf(vendor: Vendor, server: LocalServer, secret: Record<string, string>): MetricProvider {
  return createProvider({
    provider: vendor.provider(server),
    credentials: credentialsFromSecretData(secret, `${ns.name}/${vendor.type}`),
    intervalMs: 60_000,
  });
}

const failure = (provider: MetricProvider, query: string) => queryFailure(provider, query, 3000);

/** Secret keys that name things rather than prove who is asking: they may appear in messages. */
const PUBLIC_KEYS = new Set(['project', 'org', 'newrelic_account_id', 'aws_access_key_id']);

const render = (query: string) => query.replaceAll('{{ target }}', 'podinfo');

describe.each(
  vendors.map((vendor, i) => [`${vendor.type}${i === 2 ? ' (NerdGraph)' : ''}`, vendor] as const),
)('%s against a local imitation of its API', (label, vendor) => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await vendor.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reads one series, several series, and refuses no data', async () => {
    const provider = providerOf(vendor, server, vendor.secret(server));
    expect(await provider.runQuery(render(vendor.query('single')))).toBe(3.5);
    vendor.sent?.(server);
    expect(await provider.runQuery(render(vendor.query('pair')))).toEqual(vendor.pair ?? [7, 2]);
    const empty = await failure(provider, render(vendor.query('empty')));
    expect(empty.kind).toBe('noData');
    expect(empty.provider).toBe(vendor.type);
    expect(empty.message).toContain(vendor.type);
  });

  it('names the provider and the query when the query is refused', async () => {
    const query = render(vendor.query('broken'));
    const refused = await failure(providerOf(vendor, server, vendor.secret(server)), query);
    expect(refused.kind).toBe('query');
    expect(refused.message).toContain(vendor.type);
    expect(refused.query).toContain('broken');
  });

  it('reports refused credentials without their value, and isOnline checks them', async () => {
    const provider = providerOf(vendor, server, vendor.secret(server));
    expect(await provider.isOnline({ timeoutMs: 3000 })).toEqual({ online: true });
    const wrong = vendor.wrongSecret(server);
    const refused = await failure(providerOf(vendor, server, wrong), render(vendor.query('single')));
    expect(refused.kind).toBe('auth');
    for (const [key, value] of Object.entries(wrong))
      if (!PUBLIC_KEYS.has(key)) expect(refused.message).not.toContain(value);
    const status = await providerOf(vendor, server, wrong).isOnline({ timeoutMs: 3000 });
    expect(status.online).toBe(false);
    expect(!status.online && status.error.kind).toBe('auth');
  });

  it(`runs a ${label} MetricTemplate with its credentials from the Secret`, async () => {
    const name = `${vendor.type}-${Math.random().toString(36).slice(2, 7)}`;
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name }, stringData: vendor.secret(server) },
    });
    await applyTemplate(ns, name, {
      provider: { ...vendor.provider(server), secretRef: { name } },
      query: vendor.query('single'),
    });
    const deps = analysisDeps(ns, 3000);
    const result = await runAnalysis(
      [{ name: 'vendor', templateRef: { name }, thresholdRange: { max: 3 }, interval: '1m' }],
      deps,
    );
    expect(result.checks[0]).toMatchObject({ passed: false, value: 3.5, reason: 'vendor: 3.5 > max 3' });
  });
});

describe('stackdriver token exchange', () => {
  it('exchanges the key once and reuses the token until it expires', async () => {
    const server = await googleMonitoringApi('shop-prod', series);
    try {
      const { key, publicKey } = serviceAccount(`${server.url}/token`);
      server.trust(publicKey);
      const make = () =>
        createProvider({
          provider: { type: 'stackdriver', address: server.url },
          credentials: credentialsFromSecretData({ project: 'shop-prod', serviceAccountKey: key }, 's'),
          intervalMs: 60_000,
        });
      expect(await make().runQuery("fetch k8s_container | metric 'single'")).toBe(3.5);
      expect(await make().runQuery("fetch k8s_container | metric 'single'")).toBe(3.5);
      expect(server.tokensIssued()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
