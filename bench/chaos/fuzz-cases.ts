import fc from 'fast-check';

// The fuzz scenario's inputs: Canaries, MetricTemplates and AlertProviders as a person writes
// them by hand, then broken on purpose — wrong types, extreme numbers, negative durations,
// empty and 1 MB strings, unicode, deep nesting, names and labels that are not DNS-1123,
// references to missing objects, PromQL and template injection, CEL that loops or explodes.
// Pure: `fuzzCases(n, seed)` returns the same objects for the same seed.

export type FuzzKind = 'Canary' | 'MetricTemplate' | 'AlertProvider';

export interface FuzzCase {
  id: number;
  kind: FuzzKind;
  /** What was done to the valid base object, for the report. */
  mutations: string[];
  object: Record<string, unknown>;
}

const MB = 1024 * 1024;

/** CEL that runs long or builds huge values if nothing bounds it. */
export const CEL_BOMBS = [
  '[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))',
  '[[1,2,3,4,5,6,7,8,9,10]].map(x, x + x + x + x).map(x, x + x + x + x).map(x, x + x + x + x).map(x, x + x + x + x).map(x, x + x + x + x).size() > 0',
  'value > 0 && ' + Array.from({ length: 200 }, () => '(value > 0').join(' && ') + ')'.repeat(200),
  "'a' + 'a' + 'a' > value",
  'value.foo.bar > 1',
  'value >',
];

const INJECTIONS = [
  '"} or vector(1) or {a="',
  "a') or true or ('",
  '{{ .Variables.secret }}',
  '{{ namespace }}"}[1h])) or vector(100) #',
  '${jndi:ldap://x}',
  '$(rm -rf /)',
  '`id`',
  '\\"} or on() vector(1)',
];

function deepNesting(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = { nested: value };
  return value;
}

/** A hostile value of any kind. */
const hostile: fc.Arbitrary<{ label: string; value: unknown }> = fc.oneof(
  { weight: 3, arbitrary: fc.integer().map((n) => ({ label: `number ${n}`, value: n })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(-1, 0, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, -0.0001)
      .map((n) => ({ label: `extreme ${n}`, value: n })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('-5s', '-1m', '0s', '99999999999h', '1.5.3s', 's', '10 s', 'P1D', '1e9s')
      .map((d) => ({ label: `duration ${d}`, value: d })),
  },
  { weight: 1, arbitrary: fc.constant({ label: 'empty string', value: '' }) },
  { weight: 1, arbitrary: fc.constant({ label: '1 MB string', value: 'x'.repeat(MB) }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => ({ label: 'unicode', value: s })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 200 })
      .map((d) => ({ label: `nesting ${d}`, value: deepNesting(d) })),
  },
  { weight: 1, arbitrary: fc.constant({ label: 'null', value: null }) },
  { weight: 1, arbitrary: fc.boolean().map((b) => ({ label: `boolean ${b}`, value: b })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 })
      .map((a) => ({ label: 'array', value: a })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...INJECTIONS).map((s) => ({ label: `injection ${s}`, value: s })),
  },
);

/** Names and label values that are not DNS-1123 (or barely are). */
const badName = fc
  .constantFrom(
    'UPPER',
    '-leading-dash',
    'trailing-dash-',
    'under_score',
    'dot.in.name',
    'a'.repeat(254),
    'ünï',
    'space name',
    '',
    '..',
    'x'.repeat(64),
  )
  .map((name) => ({ label: `name ${name.slice(0, 20)}`, value: name }));

const CANARY_PATHS = [
  'spec.targetRef.name',
  'spec.targetRef.kind',
  'spec.targetRef.apiVersion',
  'spec.service.port',
  'spec.service.targetPort',
  'spec.service.gatewayRefs',
  'spec.provider',
  'spec.progressDeadlineSeconds',
  'spec.skipAnalysis',
  'spec.analysis',
  'spec.analysis.interval',
  'spec.analysis.threshold',
  'spec.analysis.maxWeight',
  'spec.analysis.stepWeight',
  'spec.analysis.stepWeights',
  'spec.analysis.iterations',
  'spec.analysis.match',
  'spec.analysis.metrics.0.name',
  'spec.analysis.metrics.0.interval',
  'spec.analysis.metrics.0.thresholdRange.min',
  'spec.analysis.metrics.1.templateRef.name',
  'spec.analysis.metrics.1.templateVariables.app',
  'spec.analysis.webhooks.0.url',
  'spec.analysis.webhooks.0.timeout',
  'spec.analysis.webhooks.0.type',
  'spec.analysis.webhooks.0.metadata.cmd',
  'spec.analysis.alerts.0.providerRef.name',
  'metadata.labels.team',
  'metadata.annotations.note',
];

const TEMPLATE_PATHS = [
  'spec.provider.type',
  'spec.provider.address',
  'spec.provider.secretRef.name',
  'spec.query',
  'spec.successCondition',
  'spec.failureCondition',
  'metadata.labels.team',
];

const ALERT_PATHS = [
  'spec.type',
  'spec.channel',
  'spec.username',
  'spec.secretRef.name',
  'spec.address',
  'spec.proxy',
];

function set(object: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Record<string, unknown> | unknown[] = object;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const key: string | number = /^\d+$/.test(part) ? Number(part) : part;
    if (last) {
      (at as Record<string | number, unknown>)[key] = value;
      return;
    }
    const next = (at as Record<string | number, unknown>)[key];
    if (typeof next !== 'object' || next === null) {
      const fresh: Record<string, unknown> | unknown[] = /^\d+$/.test(parts[i + 1] ?? '') ? [] : {};
      (at as Record<string | number, unknown>)[key] = fresh;
      at = fresh;
    } else {
      at = next as Record<string, unknown>;
    }
  }
}

export function baseCanary(namespace: string, name: string, receiverUrl: string) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace, labels: { team: 'shop' } },
    spec: {
      provider: 'istio',
      // No such Deployment: the fuzzed Canaries never start a rollout of their own.
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `missing-${name}` },
      service: { port: 9898 },
      analysis: {
        interval: '30s',
        threshold: 5,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [
          { name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' },
          {
            name: 'custom',
            templateRef: { name: 'fuzz-template' },
            templateVariables: { app: 'shop' },
            thresholdRange: { max: 10 },
          },
        ],
        webhooks: [
          {
            name: 'load',
            type: 'rollout',
            url: `${receiverUrl}/hook/rollout/${namespace}/${name}`,
            timeout: '5s',
          },
        ],
        alerts: [{ name: 'team', severity: 'info', providerRef: { name: 'fuzz-slack' } }],
      },
    },
  };
}

export function baseTemplate(namespace: string, name: string) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MetricTemplate',
    metadata: { name, namespace },
    spec: {
      provider: { type: 'prometheus', address: 'http://127.0.0.1:1' },
      query: 'sum(rate(http_requests_total{namespace="{{ namespace }}",app="{{ app }}"}[{{ interval }}]))',
      successCondition: 'value < 10',
    },
  };
}

export function baseAlertProvider(namespace: string, name: string) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AlertProvider',
    metadata: { name, namespace },
    spec: { type: 'slack', channel: 'releases', secretRef: { name: 'missing-slack-secret' } },
  };
}

const mutation = (paths: readonly string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...paths), hostile) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('metadata.name'), badName) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('metadata.labels.team'), badName) },
  );

const kindAndMutations = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constant<FuzzKind>('Canary'),
      fc.array(mutation(CANARY_PATHS), { minLength: 1, maxLength: 3 }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constant<FuzzKind>('MetricTemplate'),
      fc.array(
        fc.oneof(
          mutation(TEMPLATE_PATHS),
          fc.tuple(
            fc.constantFrom('spec.successCondition', 'spec.failureCondition'),
            fc
              .constantFrom(...CEL_BOMBS)
              .map((cel) => ({ label: `CEL ${cel.slice(0, 30)}`, value: cel as unknown })),
          ),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constant<FuzzKind>('AlertProvider'),
      fc.array(mutation(ALERT_PATHS), { minLength: 1, maxLength: 3 }),
    ),
  },
);

export function fuzzCases(count: number, seed: number, namespace: string, receiverUrl: string): FuzzCase[] {
  const drawn = fc.sample(kindAndMutations, { numRuns: count, seed });
  return drawn.map(([kind, mutations], id) => {
    const name = `fuzz-${String(id).padStart(4, '0')}`;
    const object: Record<string, unknown> =
      kind === 'Canary'
        ? baseCanary(namespace, name, receiverUrl)
        : kind === 'MetricTemplate'
          ? baseTemplate(namespace, name)
          : baseAlertProvider(namespace, name);
    for (const [path, { value }] of mutations) {
      // Names stay unique (a clash would be refused as "already exists", which says nothing of the field).
      set(object, path, path === 'metadata.name' && typeof value === 'string' ? `${value}${id}` : value);
    }
    // The namespace is the scenario's own; a fuzzed one would only be refused by the URL.
    set(object, 'metadata.namespace', namespace);
    return { id, kind, mutations: mutations.map(([path, { label }]) => `${path} = ${label}`), object };
  });
}
