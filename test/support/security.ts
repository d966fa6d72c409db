import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { checkQueryEscaping } from '../../bench/security/escaping.ts';
import {
  checkControllerSpawnsNothing,
  checkLoadtesterToken,
  checkNoShell,
  checkUrlAllowlist,
} from '../../bench/security/http-checks.ts';
import { freePort } from '../../src/dev/process.ts';
import { listenOnLoopback } from './loopback.ts';
import type { Kube } from '../../src/kube/client.ts';
import { readCanary } from '../../src/controller/reconciler.ts';
import { rbacMismatch } from '../deploy/access.ts';
import { find, kustomizeBuild, RoleObject } from '../deploy/render.ts';
import type { SluiceTestEnv } from './env.ts';
import { eventually } from './kube.ts';
import {
  applyAsUser,
  canaryObject,
  podinfoDeployment,
  startControllerProcess,
  waitForPhase,
  type SluiceProcess,
} from './sluice.ts';

// Issue 16 §5, "secrets never logged": the real controller, at debug level, with secrets in
// webhook URLs, Slack and Teams URLs, AlertProvider Secrets, webhook token Secrets and the
// credentials of every metric provider that takes a Secret, all pointed at endpoints that
// fail (401, 500, bad JSON, a hang, a closed port) and echo back everything they were sent,
// as a misbehaving server would. Then every log line, Event, Canary status and the /metrics
// text is searched for every secret value and its encoded forms. Callable from the suite
// (test/security/secrets.test.ts) and from `npm run chaos -- security`.

export type FailureMode = 'unauthorized' | 'error' | 'badjson' | 'hang' | 'ok';

export interface EchoServer {
  url: string;
  /** Requests received, by mode. */
  hits: Map<FailureMode, number>;
  /** Every header value and URL received, to prove the secrets were really sent. */
  seen: string[];
  close(): Promise<void>;
}

const MODES: Record<string, FailureMode> = {
  '401': 'unauthorized',
  '500': 'error',
  badjson: 'badjson',
  hang: 'hang',
  ok: 'ok',
};

/**
 * A server on loopback whose first path segment picks its failure (`/401/…`, `/500/…`,
 * `/badjson/…`, `/hang/…`, `/ok/…`) and whose answer echoes the request's URL and headers.
 */
export async function startEchoServer(): Promise<EchoServer> {
  const hits = new Map<FailureMode, number>();
  const seen: string[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const mode = MODES[(request.url ?? '/').split('/')[1] ?? ''] ?? 'unauthorized';
      hits.set(mode, (hits.get(mode) ?? 0) + 1);
      const headers = Object.entries(request.headers)
        .filter(
          ([name]) =>
            !['host', 'connection', 'content-length', 'accept-encoding', 'user-agent'].includes(name),
        )
        .map(([name, value]) => `${name}=${String(value)}`);
      seen.push(request.url ?? '', ...headers.map((header) => header.slice(header.indexOf('=') + 1)));
      const echo = `you sent ${headers.join('; ')} to ${request.url ?? ''} with ${Buffer.concat(chunks).toString('utf8').slice(0, 2000)}`;
      switch (mode) {
        case 'hang':
          hanging.add(response);
          return;
        case 'badjson':
          response.writeHead(200, { 'content-type': 'application/json' }).end(`{"echo": "${echo}`);
          return;
        case 'ok':
          response.writeHead(200, { 'content-type': 'text/plain' }).end(echo);
          return;
        case 'error':
          response.writeHead(500, { 'content-type': 'text/plain' }).end(echo);
          return;
        default:
          response
            .writeHead(401, { 'content-type': 'application/json' })
            .end(
              JSON.stringify({ error: echo, errors: [echo], message: echo, title: echo, description: echo }),
            );
      }
    });
  });
  server.keepAliveTimeout = 1000;
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    hits,
    seen,
    close: () => {
      for (const response of hanging) response.destroy();
      return close();
    },
  };
}

const NEVER_SENT = [
  'stackdriver-private-key',
  'stackdriver-key-id',
  'aws-secret-access-key',
  'alert-generic-key',
  'alert-generic-token',
  'prometheus-password-closed',
];

/** A secret value nobody could mistake for anything else. */
const secretValue = (label: string) => `s3cr3t-${label}-${randomBytes(6).toString('hex')}`;

/** The forms a secret travels in: as is, base64 (basic auth, Secret data), percent-encoded. */
export function secretForms(value: string, user = BASIC_USER): string[] {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return [
    ...new Set(
      [value, base64(value), base64(`${user}:${value}`), encodeURIComponent(value)].filter(
        (form) => form.length >= 8,
      ),
    ),
  ];
}

/** The user name of every basic-auth secret in the scenario. */
const BASIC_USER = 'sluice';

export interface Leak {
  /** Which secret (its label, never its value). */
  secret: string;
  /** Where it was found: `controller log`, `Event`, `Canary status`, `/metrics`. */
  where: string;
  /** The line with every secret masked, to tell what leaked it. */
  line: string;
}

export interface LeakReport {
  secrets: number;
  /** Lines searched, by where. */
  searched: Record<string, number>;
  leaks: Leak[];
  /** Requests the echo server got, by mode: proof that the failures happened. */
  hits: Record<string, number>;
  /** Secrets that no request carried to the echo server (the check did not exercise them). */
  unsent: string[];
  /** Debug and warning lines of the controller about the failing calls, by kind. */
  logged: { webhooks: number; metricQueries: number; notifications: number };
}

/** Searches lines for every form of every secret. */
export function findLeaks(
  secrets: ReadonlyMap<string, string[]>,
  where: string,
  lines: readonly string[],
): Leak[] {
  const leaks: Leak[] = [];
  const mask = (line: string, at: number) => {
    let out = line.slice(Math.max(0, at - 300), at + 300);
    for (const [label, forms] of secrets) for (const form of forms) out = out.split(form).join(`<${label}>`);
    return out;
  };
  for (const line of lines) {
    for (const [label, forms] of secrets) {
      const form = forms.find((candidate) => line.includes(candidate));
      if (form) leaks.push({ secret: label, where, line: mask(line, line.indexOf(form)) });
    }
  }
  return leaks;
}

export interface LeakScenario {
  kube: Kube;
  namespace: string;
  /** The control plane when run outside vitest (`npm run chaos`). */
  cluster?: Pick<SluiceTestEnv, 'kubeconfig' | 'prometheusUrl' | 'stateDir'>;
  /** How long the canaries may take to fail (default 150 s). */
  timeoutMs?: number;
}

/**
 * Runs the scenario in `namespace`: two canaries roll out a new revision, every metric,
 * webhook and notification fails, both are rolled back. Returns what leaked where.
 */
export async function runSecretLeakScenario(scenario: LeakScenario): Promise<LeakReport> {
  const { kube, namespace } = scenario;
  const echo = await startEchoServer();
  const closed = `http://127.0.0.1:${await freePort()}`;
  const secrets = new Map<string, string>();
  const secret = (label: string) => {
    const value = secretValue(label);
    secrets.set(label, value);
    return value;
  };
  let controller: SluiceProcess | undefined;
  try {
    // Metric providers, each with its Secret, each at a failing endpoint.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    secrets.set('stackdriver-private-key', pem.split('\n')[2] ?? pem);
    const serviceAccountKey = JSON.stringify({
      type: 'service_account',
      project_id: 'shop-prod',
      private_key_id: secret('stackdriver-key-id'),
      private_key: pem,
      client_email: 'sluice@shop-prod.iam.gserviceaccount.com',
      client_id: '1',
      token_uri: `${echo.url}/401/token`,
    });
    const providers: Array<{
      name: string;
      provider: Record<string, unknown>;
      data: Record<string, string>;
      query: string;
    }> = [
      {
        name: 'prom-basic',
        provider: { type: 'prometheus', address: `${echo.url}/401` },
        data: { username: 'sluice', password: secret('prometheus-password') },
        query: 'sum(rate(http_requests_total{namespace="{{ namespace }}"}[{{ interval }}]))',
      },
      {
        name: 'prom-bearer',
        provider: { type: 'prometheus', address: `${echo.url}/badjson` },
        data: { token: secret('prometheus-bearer'), 'header.X-Scope-OrgID': secret('prometheus-header') },
        query: 'vector(1)',
      },
      {
        name: 'prom-hang',
        provider: { type: 'prometheus', address: `${echo.url}/hang` },
        data: { token: secret('prometheus-bearer-hang') },
        query: 'vector(1)',
      },
      {
        name: 'prom-closed',
        provider: { type: 'prometheus', address: closed },
        data: { username: 'sluice', password: secret('prometheus-password-closed') },
        query: 'vector(1)',
      },
      {
        name: 'datadog',
        provider: { type: 'datadog', address: `${echo.url}/401` },
        data: {
          datadog_api_key: secret('datadog-api-key'),
          datadog_application_key: secret('datadog-app-key'),
        },
        query: 'avg:trace.http.request.errors{service:{{ target }}}',
      },
      {
        name: 'cloudwatch',
        provider: { type: 'cloudwatch', region: 'eu-west-1', address: `${echo.url}/401` },
        data: {
          aws_access_key_id: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
          aws_secret_access_key: secret('aws-secret-access-key'),
          aws_session_token: secret('aws-session-token'),
        },
        query: '[{"Id": "e1", "Expression": "SUM(x)", "Label": "ErrorRate"}]',
      },
      {
        name: 'newrelic-insights',
        provider: { type: 'newrelic', address: `${echo.url}/500` },
        data: { newrelic_account_id: '1234567', newrelic_query_key: secret('newrelic-query-key') },
        query: "SELECT count(*) FROM Transaction WHERE appName = '{{ target }}'",
      },
      {
        name: 'newrelic-nerdgraph',
        provider: { type: 'newrelic', address: `${echo.url}/401` },
        data: { newrelic_account_id: '1234567', newrelic_api_key: secret('newrelic-api-key') },
        query: "SELECT count(*) FROM Transaction WHERE appName = '{{ target }}'",
      },
      {
        name: 'dynatrace',
        provider: { type: 'dynatrace', address: `${echo.url}/401` },
        data: { dynatrace_token: secret('dynatrace-token') },
        query: 'builtin:service.response.time:percentile(95)',
      },
      {
        name: 'splunk',
        provider: { type: 'splunk', address: `${echo.url}/401` },
        data: { sf_token_key: secret('splunk-token') },
        query: "A = data('requests', filter=filter('sf_service', '{{ target }}')).sum()\nA.publish()",
      },
      {
        name: 'stackdriver',
        provider: { type: 'stackdriver', address: `${echo.url}/401` },
        data: { project: 'shop-prod', serviceAccountKey },
        query: "fetch k8s_container\n| metric 'x'\n| filter resource.container_name == '{{ target }}'",
      },
      {
        name: 'influxdb-flux',
        provider: { type: 'influxdb', address: `${echo.url}/badjson` },
        data: { token: secret('influxdb-token'), org: 'shop' },
        query: 'from(bucket: "b")\n  |> range(start: -1m)',
      },
      {
        name: 'influxdb-influxql',
        provider: { type: 'influxdb', address: `${echo.url}/401` },
        data: { username: 'sluice', password: secret('influxdb-password'), db: 'shop' },
        query: 'SELECT sum(errors) FROM requests',
      },
      {
        name: 'graphite',
        provider: { type: 'graphite', address: `${echo.url}/401` },
        data: { username: 'sluice', password: secret('graphite-password') },
        query: 'target=sumSeries(stats.{{ target }}.requests.ok)&from=-1min',
      },
    ];

    // Webhooks and notifications.
    const hookToken = secret('webhook-token');
    const urlToken = secret('webhook-url-token');
    const urlPassword = secret('webhook-url-password');
    const slackPath = secret('alert-slack-path');
    const slackToken = secret('alert-slack-token');
    const genericToken = secret('alert-generic-token');
    const globalSlackPath = secret('global-slack-path');
    const globalSlackToken = secret('global-slack-token');
    const globalTeamsPath = secret('global-msteams-path');
    const globalEventToken = secret('global-event-webhook-token');

    const objects: object[] = [
      ...providers.flatMap(({ name, provider, data, query }) => [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${name}-creds`, namespace },
          stringData: data,
        },
        {
          apiVersion: 'sluice.dev/v1alpha1',
          kind: 'MetricTemplate',
          metadata: { name, namespace },
          spec: { provider: { ...provider, secretRef: { name: `${name}-creds` } }, query },
        },
      ]),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'web-creds', namespace },
        stringData: { 'header.X-Api-Key': secret('web-header') },
      },
      {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'MetricTemplate',
        metadata: { name: 'web', namespace },
        spec: {
          provider: { type: 'web', secretRef: { name: 'web-creds' } },
          web: { url: `${echo.url}/401/slo/{{ target }}`, jsonPath: '$.value' },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'hook-token', namespace },
        stringData: { token: hookToken },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'slack-url', namespace },
        stringData: {
          address: `${echo.url}/401/services/T0/B0/${slackPath}`,
          token: slackToken,
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'generic-url', namespace },
        stringData: { address: `${closed}/hooks?key=${secret('alert-generic-key')}`, token: genericToken },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'teams-url', namespace },
        stringData: { address: `${echo.url}/hang/workflows/${secret('alert-msteams-path')}` },
      },
      ...[
        ['slack', 'slack', 'slack-url'],
        ['generic', 'generic', 'generic-url'],
        ['teams', 'msteams', 'teams-url'],
      ].map(([name, type, secretName]) => ({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AlertProvider',
        metadata: { name, namespace },
        spec: { type, secretRef: { name: secretName } },
      })),
      podinfoDeployment({ namespace }),
      podinfoDeployment({ namespace, name: 'globals' }),
    ];
    for (const object of objects) await applyAsUser(kube, object);

    const analysis = { interval: '10s', threshold: 2, maxWeight: 50, stepWeight: 25 };
    await applyAsUser(
      kube,
      canaryObject(namespace, {
        provider: 'istio',
        analysis: {
          ...analysis,
          metrics: [...providers.map(({ name }) => name), 'web'].map((name) => ({
            name,
            templateRef: { name },
            thresholdRange: { min: 1 },
            interval: '1m',
          })),
          webhooks: [
            {
              name: 'echo-ok',
              type: 'pre-rollout',
              url: `http://sluice:${urlPassword}@${echo.url.slice('http://'.length)}/ok/pre?token=${urlToken}`,
            },
            {
              name: 'with-token',
              type: 'rollout',
              url: `${echo.url}/500/gate`,
              secretRef: { name: 'hook-token' },
            },
            { name: 'unauthorized', type: 'rollout', url: `${echo.url}/401/hook?token=${urlToken}` },
            {
              name: 'events',
              type: 'event',
              url: `${echo.url}/hang/events?token=${urlToken}`,
              timeout: '2s',
            },
            { name: 'rollback-echo', type: 'rollback', url: `${echo.url}/401/rollback?token=${urlToken}` },
            { name: 'post', type: 'post-rollout', url: `${closed}/post?token=${urlToken}` },
          ],
          alerts: [
            { name: 'slack', severity: 'info', providerRef: { name: 'slack' } },
            { name: 'generic', severity: 'info', providerRef: { name: 'generic' } },
            { name: 'teams', severity: 'info', providerRef: { name: 'teams' } },
          ],
        },
      }),
    );
    // No alerts and no event hooks: the global Slack, Teams and event webhook get its news.
    await applyAsUser(
      kube,
      canaryObject(
        namespace,
        {
          provider: 'istio',
          analysis: {
            ...analysis,
            metrics: [
              { name: 'prom-basic', templateRef: { name: 'prom-basic' }, thresholdRange: { min: 1 } },
            ],
          },
        },
        'globals',
      ),
    );

    controller = await startControllerProcess({
      namespace,
      name: 'secrets',
      ...(scenario.cluster ? { cluster: scenario.cluster } : {}),
      env: {
        SLACK_URL: `${echo.url}/500/services/T1/B1/${globalSlackPath}`,
        SLACK_TOKEN: globalSlackToken,
        MSTEAMS_URL: `${echo.url}/401/workflows/${globalTeamsPath}`,
        EVENT_WEBHOOK_URL: `${echo.url}/401/events/${secret('global-event-webhook-path')}?token=${globalEventToken}`,
      },
    });
    const timeoutMs = scenario.timeoutMs ?? 150_000;
    for (const name of ['podinfo', 'globals']) {
      await waitForPhase(kube, namespace, 'Initialized', { name, timeoutMs });
      await applyAsUser(
        kube,
        podinfoDeployment({ namespace, name, image: 'ghcr.io/stefanprodan/podinfo:6.0.1' }),
      );
    }
    for (const name of ['podinfo', 'globals'])
      await waitForPhase(kube, namespace, 'Failed', { name, timeoutMs });
    // Notifications and event hooks are sent after the status write; give them their deadline.
    await eventually(
      'the rollback notifications',
      async () => (echo.hits.get('error') ?? 0) > 0 && (echo.hits.get('badjson') ?? 0) > 1,
      {
        timeoutMs: 30_000,
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000));

    // Everything a person or a log pipeline can read.
    const metrics = await (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text();
    await controller.kill('SIGTERM');
    const log = (await controller.log()).split('\n');
    const events = (await kube.core.listNamespacedEvent({ namespace })).items.map((event) =>
      JSON.stringify(event),
    );
    // The status only: the spec holds what the Canary's author wrote in it.
    const statuses = await Promise.all(
      ['podinfo', 'globals'].map(async (name) =>
        JSON.stringify((await readCanary(kube, namespace, name)).status),
      ),
    );
    const forms = new Map([...secrets].map(([label, value]) => [label, secretForms(value)]));
    const searched = {
      'controller log': log.length,
      Event: events.length,
      'Canary status': statuses.length,
      '/metrics': metrics.split('\n').length,
    };
    const leaks = [
      ...findLeaks(forms, 'controller log', log),
      ...findLeaks(forms, 'Event', events),
      ...findLeaks(forms, 'Canary status', statuses),
      ...findLeaks(forms, '/metrics', metrics.split('\n')),
    ];
    const carried = echo.seen.join('\n');
    const unsent = [...secrets]
      // Signing keys are never sent; the closed port never hears anything.
      .filter(([label]) => !NEVER_SENT.includes(label))
      .filter(([, value]) => !secretForms(value).some((form) => carried.includes(form)))
      .map(([label]) => label);
    const count = (message: string) => log.filter((line) => line.includes(`"msg":"${message}"`)).length;
    const logged = {
      webhooks: count('webhook called'),
      metricQueries: count('running metric query'),
      notifications: count('notification not delivered'),
    };
    return { secrets: secrets.size, searched, leaks, hits: Object.fromEntries(echo.hits), unsent, logged };
  } finally {
    await controller?.kill('SIGTERM');
    await echo.close();
  }
}

export interface SecurityRun {
  /** Figures for the `key=value` line of `npm run chaos -- security`. */
  figures: Record<string, number>;
  /** Everything that did not hold, one line each. */
  failures: string[];
}

/**
 * Every check of issue 16 §5 in one run, for `npm run chaos -- security`: query escaping
 * (property runs), the URL allowlist, the load tester's token, no shell, the RBAC rules
 * against the controller's needs, and the secrets scenario on the control plane.
 */
export async function runSecurityChecks(options: {
  kube: Kube;
  /** A namespace that exists, for the secrets scenario's objects. */
  namespace: string;
  cluster?: Pick<SluiceTestEnv, 'kubeconfig' | 'prometheusUrl' | 'stateDir'>;
  runs?: number;
  seed?: number;
  progress?: (line: string) => void;
}): Promise<SecurityRun> {
  const progress = options.progress ?? (() => undefined);
  const figures: Record<string, number> = {};
  const failures: string[] = [];

  progress('query escaping');
  const escaping = checkQueryEscaping({
    runs: options.runs ?? 1000,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  Object.assign(figures, {
    escaping_cases: escaping.cases,
    escaping_refused: escaping.refused,
    escaping_failures: escaping.failures.length,
  });
  failures.push(...escaping.failures.map((f) => `escaping: ${f}`));
  for (const [name, check] of [
    ['allowlist', checkUrlAllowlist],
    ['token', checkLoadtesterToken],
    ['shell', checkNoShell],
    ['spawn', async () => checkControllerSpawnsNothing()],
  ] as const) {
    progress(name);
    const report = await check();
    figures[`${name}_cases`] = report.cases;
    figures[`${name}_failures`] = report.failures.length;
    failures.push(...report.failures.map((f) => `${name}: ${f}`));
  }

  progress('rbac');
  const base = await kustomizeBuild('');
  const mismatch = rbacMismatch(
    [find(base, 'ClusterRole'), find(base, 'Role')].flatMap((role) => RoleObject.parse(role).rules),
  );
  Object.assign(figures, {
    rbac_wildcards: mismatch.wildcards.length,
    rbac_unneeded: mismatch.unneeded.length,
    rbac_missing: mismatch.missing.length,
  });
  failures.push(
    ...mismatch.wildcards.map((g) => `rbac: wildcard ${g}`),
    ...mismatch.unneeded.map((g) => `rbac: granted but not needed: ${g}`),
    ...mismatch.missing.map((g) => `rbac: needed but not granted: ${g}`),
  );

  progress('secrets through failures (real controller, about a minute)');
  const leaks = await runSecretLeakScenario({
    kube: options.kube,
    namespace: options.namespace,
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  Object.assign(figures, {
    secrets: leaks.secrets,
    log_lines: leaks.searched['controller log'] ?? 0,
    events: leaks.searched.Event ?? 0,
    leaks: leaks.leaks.length,
    secrets_unsent: leaks.unsent.length,
  });
  failures.push(
    ...leaks.leaks.map((leak) => `leak: ${leak.secret} in ${leak.where}: ${leak.line}`),
    ...leaks.unsent.map((label) => `secrets: ${label} was never sent, so the scenario proves nothing for it`),
  );
  return { figures, failures };
}
