// The one list of metric provider kinds (MetricTemplate `spec.provider.type`). The zod
// enum and its description, the provider factory (a map the compiler checks against this
// one), `sluice migrate`, error messages and the table in docs/metrics.md all come from
// here. Every provider type Flagger has is here, so a Flagger template moves unchanged.

export interface SecretKey {
  key: string;
  /** What the value is for, as the docs table says it. */
  use: string;
  required: boolean;
}

export interface MetricProviderKind {
  /** What `spec.query` holds. */
  query: string;
  /** What `spec.provider.address` means for this kind, and its default. */
  address: string;
  /** Whether a secretRef is required, optional (other auth exists), or unused. */
  secret: 'required' | 'optional' | 'unused';
  /** The Secret keys the provider reads (values are never logged). */
  keys: readonly SecretKey[];
  /** `spec.provider.region` is read (cloudwatch). */
  region?: true;
}

const requiredKey = (key: string, use: string): SecretKey => ({ key, use, required: true });
const optionalKey = (key: string, use: string): SecretKey => ({ key, use, required: false });
const token = (use: string) => optionalKey('token', use);

/** The HTTP authentication Prometheus and the web provider read: a bearer token, basic auth, extra headers. */
const httpAuthKeys = (headerUse: string): SecretKey[] => [
  token('`Authorization: Bearer`'),
  optionalKey('username', 'basic auth, with `password`'),
  optionalKey('password', 'basic auth, with `username`'),
  { key: 'header.<Name>', use: headerUse, required: false },
];

export const METRIC_PROVIDERS = {
  prometheus: {
    query: 'PromQL, run as an instant query (`GET /api/v1/query`)',
    address: "Prometheus' base URL (a path prefix is kept); default: the Canary's `spec.metricsServer`",
    secret: 'optional',
    keys: httpAuthKeys('any extra header, e.g. `header.X-Scope-OrgID`'),
  },
  datadog: {
    query: 'a Datadog metrics query (`GET /api/v1/query`)',
    address: 'default `https://api.datadoghq.com`',
    secret: 'required',
    keys: [
      requiredKey('datadog_api_key', '`DD-API-KEY`'),
      requiredKey('datadog_application_key', '`DD-APPLICATION-KEY`'),
    ],
  },
  web: {
    query: '— (`spec.web` says how to call any JSON HTTP API and where the number is)',
    address: 'the URL to call when `spec.web.url` is not set',
    secret: 'optional',
    keys: httpAuthKeys('any extra header'),
  },
  cloudwatch: {
    query: 'a JSON list of CloudWatch `MetricDataQuery` (`GetMetricData`, SigV4-signed)',
    address: 'default `https://monitoring.<region>.amazonaws.com`',
    secret: 'optional',
    keys: [
      requiredKey(
        'aws_access_key_id',
        "the access key (without a Secret: the controller's own AWS identity)",
      ),
      requiredKey('aws_secret_access_key', 'its secret'),
      optionalKey('aws_session_token', 'for temporary credentials'),
    ],
    region: true,
  },
  newrelic: {
    query: 'NRQL; Sluice appends `SINCE <interval> seconds ago`',
    address:
      'default `https://insights-api.newrelic.com` (query key) or `https://api.newrelic.com` (NerdGraph)',
    secret: 'required',
    keys: [
      requiredKey('newrelic_account_id', 'the account to query'),
      optionalKey('newrelic_query_key', 'Insights query key (`X-Query-Key`), as in Flagger'),
      optionalKey('newrelic_api_key', 'user API key (`API-Key`): NerdGraph instead of Insights'),
    ],
  },
  dynatrace: {
    query: 'a Dynatrace metric selector (`GET /api/v2/metrics/query`)',
    address: 'required: the environment URL, e.g. `https://abc12345.live.dynatrace.com`',
    secret: 'required',
    keys: [requiredKey('dynatrace_token', '`Authorization: Api-Token`')],
  },
  graphite: {
    query: 'render API parameters, e.g. `target=…` (`GET /render?…&format=json`)',
    address: 'required: graphite-web base URL',
    secret: 'optional',
    keys: [optionalKey('username', 'basic auth'), optionalKey('password', 'basic auth')],
  },
  influxdb: {
    query:
      'Flux (`POST /api/v2/query`, as Flagger), or InfluxQL starting with `SELECT` (`/query`, InfluxDB 1.x)',
    address: 'required: the InfluxDB base URL',
    secret: 'optional',
    keys: [
      token('`Authorization: Token` (InfluxDB 2.x and 1.8)'),
      optionalKey('org', 'the organisation (Flux on 2.x)'),
      optionalKey('db', 'the database (InfluxQL)'),
      optionalKey('username', 'InfluxDB 1.x user (InfluxQL), with `password`'),
      optionalKey('password', 'its password'),
    ],
  },
  stackdriver: {
    query: 'MQL (`projects.timeSeries.query` of Google Cloud Monitoring)',
    address: 'default `https://monitoring.googleapis.com`',
    secret: 'required',
    keys: [
      requiredKey('project', 'the Google Cloud project id'),
      optionalKey(
        'serviceAccountKey',
        "a service-account key (JSON); without it, the controller's own identity (Workload Identity)",
      ),
    ],
  },
  splunk: {
    query: 'a SignalFlow program (Splunk Observability / SignalFx, `POST /v2/signalflow/execute`)',
    address: 'required: `https://api.<realm>.signalfx.com` (or `https://stream.<realm>…`)',
    secret: 'required',
    keys: [requiredKey('sf_token_key', '`X-SF-Token`')],
  },
  keptn: {
    query: '`keptnmetric/<namespace>/<name>` or `analysis/<namespace>/<definition>/<timeframe>/<k=v;…>`',
    address: 'unused: read from the cluster Sluice runs in',
    secret: 'unused',
    keys: [],
  },
  externalmetrics: {
    query: '`<namespace>/<metric>?labelSelector=<url-encoded selector>` (external.metrics.k8s.io/v1beta1)',
    address: "default: the Kubernetes API Sluice talks to (with its own identity); or a metrics server's URL",
    secret: 'optional',
    keys: [token('`Authorization: Bearer` (with `address`)')],
  },
} as const satisfies Record<string, MetricProviderKind>;

export type MetricProviderType = keyof typeof METRIC_PROVIDERS;

export const METRIC_PROVIDER_TYPES = Object.keys(METRIC_PROVIDERS) as [
  MetricProviderType,
  ...MetricProviderType[],
];

export function isMetricProviderType(type: string): type is MetricProviderType {
  return Object.hasOwn(METRIC_PROVIDERS, type);
}

/** `prometheus, datadog, …`, for messages and the schema description. */
export function metricProviderList(): string {
  return METRIC_PROVIDER_TYPES.join(', ');
}

/** The provider table of docs/metrics.md (a test checks the docs hold it verbatim). */
export function metricProviderTable(): string {
  const rows = METRIC_PROVIDER_TYPES.map((type) => {
    const kind: MetricProviderKind = METRIC_PROVIDERS[type];
    // Under an optional Secret every key is optional; under a required one, say which are.
    const keys = kind.keys
      .map((k) => `\`${k.key}\`${kind.secret === 'required' && !k.required ? ' (optional)' : ''}`)
      .join(', ');
    const secret = kind.secret === 'unused' ? '—' : `${kind.secret}: ${keys}`;
    const address = kind.region ? `${kind.address}; \`region\` required` : kind.address;
    return `| [\`${type}\`](#${type}) | ${kind.query} | ${address} | ${secret} |`;
  });
  return [
    '| `provider.type` | The query is | `address` | `secretRef` keys |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
