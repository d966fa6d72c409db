import { z } from 'zod';
import {
  CrossNamespaceObjectReference,
  CustomMetadata,
  LocalObjectReference,
  PRESERVE_UNKNOWN,
  StringMap,
  API_VERSION,
  celExpression,
  customResource,
  durationAtLeast,
  durationString,
  intOrString,
  percentage,
  withRules,
  type ValidationRule,
} from './common.ts';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { providerSpellings } from './providers.ts';
import { CanaryStatus } from './status.ts';

// Field names, types, defaults and meanings follow Flagger's flagger.app/v1beta1 Canary so
// a team can move by changing the apiVersion. Sluice's own additions are optional and
// marked "(Sluice)" in their description.

// ---- Defaults Flagger applies (kept identical) ----------------------------------------

export const DEFAULT_ANALYSIS_INTERVAL = '60s';
export const DEFAULT_THRESHOLD = 1;
/** Argo Rollouts' default: the first inconclusive analysis pauses for a person. */
export const DEFAULT_INCONCLUSIVE_LIMIT = 1;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_READY_THRESHOLD = 100;
export const DEFAULT_WEBHOOK_TIMEOUT = '10s';
export const DEFAULT_METRIC_INTERVAL = '1m';
export const DEFAULT_MAX_WEIGHT = 100;
export const DEFAULT_PORT_NAME = 'http';
export const DEFAULT_SESSION_MAX_AGE = 86_400;
export const MIN_ANALYSIS_INTERVAL = '10s';
/** (Sluice) Default cadence of the judge and failFast checks between steps. */
export const DEFAULT_CHECK_EVERY = '5s';
export const MIN_CHECK_EVERY = '1s';

/**
 * Metric names that need no template: the router's own success rate and p99 latency
 * queries. The one list of them: src/analysis/builtins.ts has their queries per provider.
 */
export const BUILTIN_METRICS = ['request-success-rate', 'request-duration'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

/** What a generated route carries (spec.service.protocol); http when unset. */
export const ROUTE_PROTOCOLS = ['http', 'grpc', 'tcp'] as const;
export type RouteProtocol = (typeof ROUTE_PROTOCOLS)[number];

/** Knative Serving's API group: a Service of it is the target of a knative Canary. */
export const KNATIVE_GROUP = 'serving.knative.dev';
/** The port a Knative Service is called on; what a knative Canary's spec.service stands for. */
const KNATIVE_PORT = 80;

/** Whether spec.targetRef names a Knative Service. */
export function isKnativeTarget(ref: { apiVersion: string; kind: string }): boolean {
  return ref.kind === 'Service' && ref.apiVersion.startsWith(`${KNATIVE_GROUP}/`);
}

/** Target kinds Sluice releases; Flagger's `Service` is accepted by the CRD and refused by Sluice's validation. */
export const TARGET_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
/** Autoscaler kinds Sluice copies for the primary; Flagger's `ScaledObject` is accepted and refused the same way. */
export const AUTOSCALER_KINDS = ['HorizontalPodAutoscaler'] as const;

// ---- References ---------------------------------------------------------------------

export const TargetRef = withRules(
  z.object({
    apiVersion: z.string().min(1).describe('API version of the target: apps/v1'),
    kind: z
      .enum([...TARGET_KINDS, 'Service'])
      .describe(`Kind of the target: ${TARGET_KINDS.join(' or ')} (Flagger's Service: refused by Sluice)`),
    name: z.string().min(1).describe('Name of the target in the Canary namespace'),
  }),
  [
    {
      rule: "self.kind == 'Service' || self.apiVersion == 'apps/v1'",
      message: 'spec.targetRef.apiVersion must be apps/v1 for a Deployment, DaemonSet or StatefulSet',
      fieldPath: '.apiVersion',
      check: (ref) => ref.kind === 'Service' || ref.apiVersion === 'apps/v1',
    },
  ],
);

export const ScalerReplicas = z.object({
  minReplicas: z.int().min(0).optional().describe('Overrides minReplicas on the primary autoscaler'),
  maxReplicas: z.int().min(1).optional().describe('Overrides maxReplicas on the primary autoscaler'),
});

export const AutoscalerRef = withRules(
  z.object({
    apiVersion: z
      .string()
      .min(1)
      .describe('API version of the autoscaler: autoscaling/<version> (any version names the same HPA)'),
    kind: z
      .enum([...AUTOSCALER_KINDS, 'ScaledObject'])
      .describe(`${AUTOSCALER_KINDS.join(' or ')} (Flagger's KEDA ScaledObject: refused by Sluice)`),
    name: z.string().min(1).describe('Name of the autoscaler; Sluice copies it for the primary'),
    primaryScalerQueries: StringMap.optional().describe(
      'Per-trigger queries for the primary scaler (KEDA ScaledObject only; refused with an HPA)',
    ),
    primaryScalerReplicas: ScalerReplicas.optional().describe('Replica bounds for the primary autoscaler'),
  }),
  [
    {
      rule: "self.kind != 'HorizontalPodAutoscaler' || self.apiVersion.startsWith('autoscaling/')",
      message: 'spec.autoscalerRef.apiVersion must be autoscaling/<version> for a HorizontalPodAutoscaler',
      fieldPath: '.apiVersion',
      check: (ref) => ref.kind !== 'HorizontalPodAutoscaler' || ref.apiVersion.startsWith('autoscaling/'),
    },
    {
      rule: "!has(self.primaryScalerQueries) || self.kind == 'ScaledObject'",
      message:
        'spec.autoscalerRef.primaryScalerQueries is for a KEDA ScaledObject; a HorizontalPodAutoscaler has no queries',
      fieldPath: '.primaryScalerQueries',
      check: (ref) => ref.primaryScalerQueries === undefined || ref.kind === 'ScaledObject',
    },
  ],
);

function kindRef<K extends string>(kind: K, what: string) {
  return z.object({
    apiVersion: z.string().min(1).describe(`API version of the ${what}`),
    kind: z.literal(kind).describe(`Must be ${kind}`),
    name: z.string().min(1).describe(`Name of the ${what}`),
  });
}

// ---- Istio / Gateway API passthroughs ---------------------------------------------------
// These follow Istio's and Gateway API's own types; Sluice types the fields it reads and
// keeps every other field (x-kubernetes-preserve-unknown-fields) so new upstream fields work.

export const StringMatch = z
  .looseObject({
    exact: z.string().optional(),
    prefix: z.string().optional(),
    suffix: z.string().optional(),
    regex: z.string().optional(),
  })
  .meta(PRESERVE_UNKNOWN);
export type StringMatch = z.output<typeof StringMatch>;

export const HTTPMatchRequest = z
  .looseObject({
    name: z.string().optional().describe('Name of the match'),
    uri: StringMatch.optional().describe('URI match'),
    scheme: StringMatch.optional().describe('Scheme match'),
    method: StringMatch.optional().describe('HTTP method match'),
    authority: StringMatch.optional().describe('Authority (Host) match'),
    headers: z.record(z.string(), StringMatch).optional().describe('Header matches, by header name'),
    queryParams: z.record(z.string(), StringMatch).optional().describe('Query parameter matches'),
    withoutHeaders: z.record(z.string(), StringMatch).optional().describe('Headers that must not match'),
    sourceLabels: StringMap.optional().describe('Labels the calling workload must carry (Istio)'),
    ignoreUriCase: z.boolean().optional().describe('Match the URI case-insensitively'),
    port: z.int().optional().describe('Port the request was addressed to'),
    gateways: z.array(z.string()).optional().describe('Gateways the match applies to (Istio)'),
    sourceNamespace: z.string().optional().describe('Namespace of the calling workload (Istio)'),
  })
  .meta(PRESERVE_UNKNOWN);
export type HTTPMatchRequest = z.output<typeof HTTPMatchRequest>;

export const HTTPRetry = z
  .looseObject({
    attempts: z.int().min(0).optional().describe('Number of retries'),
    perTryTimeout: z.string().optional().describe('Timeout per attempt'),
    retryOn: z.string().optional().describe('Conditions to retry on (Istio retryOn)'),
  })
  .meta(PRESERVE_UNKNOWN);

const HeaderOperations = z
  .looseObject({
    add: StringMap.optional(),
    set: StringMap.optional(),
    remove: z.array(z.string()).optional(),
  })
  .meta(PRESERVE_UNKNOWN);

export const IstioHeaders = z
  .looseObject({
    request: HeaderOperations.optional().describe('Header changes on the request'),
    response: HeaderOperations.optional().describe('Header changes on the response'),
  })
  .meta(PRESERVE_UNKNOWN);

export const CorsPolicy = z
  .looseObject({
    allowOrigins: z.array(StringMatch).optional(),
    allowOrigin: z.array(z.string()).optional(),
    allowMethods: z.array(z.string()).optional(),
    allowHeaders: z.array(z.string()).optional(),
    exposeHeaders: z.array(z.string()).optional(),
    maxAge: z.string().optional(),
    allowCredentials: z.boolean().optional(),
  })
  .meta(PRESERVE_UNKNOWN);

export const TrafficPolicy = z.looseObject({}).meta(PRESERVE_UNKNOWN);

export const HTTPRewrite = z
  .looseObject({
    uri: z.string().optional().describe('Replacement for the path (or the matched prefix)'),
    authority: z.string().optional().describe('Replacement for the Host/authority header'),
    type: z.string().optional().describe('Gateway API path modifier: ReplaceFullPath or ReplacePrefixMatch'),
  })
  .meta(PRESERVE_UNKNOWN);

export const ParentReference = z.object({
  group: z.string().default('gateway.networking.k8s.io').describe('API group of the parent'),
  kind: z.string().default('Gateway').describe('Kind of the parent'),
  namespace: z.string().optional().describe('Namespace of the parent; defaults to the Canary namespace'),
  name: z.string().min(1).describe('Name of the parent Gateway'),
  sectionName: z.string().optional().describe('Listener name on the Gateway'),
  port: z.int().min(1).max(65535).optional().describe('Listener port on the Gateway'),
});
export type ParentReference = z.output<typeof ParentReference>;

export const HTTPRequestMirrorFilter = z
  .looseObject({
    backendRef: z
      .looseObject({
        group: z.string().optional(),
        kind: z.string().optional(),
        name: z.string().min(1),
        namespace: z.string().optional(),
        port: z.int().min(1).max(65535).optional(),
      })
      .meta(PRESERVE_UNKNOWN)
      .describe('Service that receives the mirrored requests'),
  })
  .meta(PRESERVE_UNKNOWN);

/** A reference to one of Sluice's own kinds: apiVersion and kind may be written, and then must name it. */
function referenceTo(kind: 'MetricTemplate' | 'AlertProvider') {
  return withRules(CrossNamespaceObjectReference, [
    {
      rule: `!has(self.kind) || self.kind == '${kind}'`,
      message: `kind must be ${kind}`,
      fieldPath: '.kind',
      check: (ref) => ref.kind === undefined || ref.kind === kind,
    },
    {
      rule: `!has(self.apiVersion) || self.apiVersion == '${API_VERSION}'`,
      message: `apiVersion must be ${API_VERSION}`,
      fieldPath: '.apiVersion',
      check: (ref) => ref.apiVersion === undefined || ref.apiVersion === API_VERSION,
    },
  ]);
}

// ---- Service -----------------------------------------------------------------------

/** Fields of Flagger's for providers Sluice does not route: kept in the schema so the apiserver refuses them by name. */
const NO_ROUTER_FIELDS = [
  [
    'upstreamRef',
    'spec.upstreamRef is Gloo Edge’s; Sluice’s gloo provider routes through Gloo Gateway’s Gateway API (list the Gateway in spec.service.gatewayRefs)',
  ],
] as const;
const NO_APP_MESH = [
  ['meshName', 'spec.service.meshName is App Mesh’s; Sluice has no App Mesh router'],
  ['backends', 'spec.service.backends is App Mesh’s; Sluice has no App Mesh router'],
] as const;

/** Why a StatefulSet canary refuses traffic fields: its pods share one Service. */
const STATEFULSET_PODS =
  'its new revision reaches traffic through its pods (one Service over all of them), so traffic follows the pod count (use stepReplicas or steps)';
const STATEFULSET_NO_SERVICES =
  'Sluice generates no Services or routes for a StatefulSet (its own Service spans every pod): remove it';

/** Canary fields a StatefulSet canary refuses by name (docs/routing.md#statefulset-targets). */
const STATEFULSET_REFUSED: readonly (readonly [string, string])[] = [
  ['analysis.stepWeight', STATEFULSET_PODS],
  ['analysis.stepWeights', STATEFULSET_PODS],
  ['analysis.maxWeight', STATEFULSET_PODS],
  ['analysis.stepWeightPromotion', 'promotion lowers the partition to 0 in one step'],
  ['analysis.iterations', 'a StatefulSet has no A/B or blue/green strategy (use stepReplicas or steps)'],
  ['analysis.match', STATEFULSET_PODS],
  ['analysis.mirrorWeight', STATEFULSET_PODS],
  ['analysis.sessionAffinity', STATEFULSET_PODS],
  ['autoscalerRef', 'the partition counts pods, so replicas must not move under it: remove it'],
  ...(
    [
      'protocol',
      'portDiscovery',
      'timeout',
      'gateways',
      'gatewayRefs',
      'hosts',
      'delegation',
      'trafficPolicy',
      'match',
      'rewrite',
      'retries',
      'headers',
      'mirror',
      'corsPolicy',
      'apex',
      'primary',
      'canary',
    ] as const
  ).map((field) => [`service.${field}`, STATEFULSET_NO_SERVICES] as const),
];

function targetKindOf(spec: object): unknown {
  return (spec as { targetRef?: { kind?: unknown } }).targetRef?.kind;
}

/** The value at a dotted path of a plain object (for the checks of CEL rules on nested fields). */
function valueAt(object: object, path: string): unknown {
  let value: unknown = object;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export const CanaryService = withRules(
  z.object({
    name: z.string().optional().describe('Name of the generated Services; defaults to targetRef.name'),
    port: z.int().min(1).max(65535).describe('Port of the generated Services'),
    portName: z.string().default(DEFAULT_PORT_NAME).describe('Name of the Service port'),
    targetPort: intOrString().optional().describe('Container port number or name; defaults to port'),
    appProtocol: z.string().optional().describe('appProtocol of the Service port'),
    protocol: z
      .enum(ROUTE_PROTOCOLS)
      .optional()
      .describe(
        'What the generated route carries: http (default), grpc (Gateway API GRPCRoute: weights, mirror, header and method matches) or tcp (Gateway API TCPRoute: weights only)',
      ),
    portDiscovery: z.boolean().optional().describe('Also expose every container port of the target'),
    timeout: z.string().optional().describe('Request timeout on the generated route, e.g. 30s'),
    gateways: z.array(z.string()).optional().describe('Istio gateways the VirtualService is bound to'),
    gatewayRefs: z
      .array(ParentReference)
      .max(32)
      .optional()
      .describe('Gateway API parents the HTTPRoute attaches to (required for gatewayapi)'),
    hosts: z.array(z.string()).optional().describe('Host names of the VirtualService or HTTPRoute'),
    delegation: z
      .boolean()
      .optional()
      .describe('Generate an Istio delegate VirtualService (no hosts/gateways)'),
    trafficPolicy: TrafficPolicy.optional().describe('Istio DestinationRule trafficPolicy'),
    match: z.array(HTTPMatchRequest).optional().describe('Istio match conditions of the generated route'),
    rewrite: HTTPRewrite.optional().describe('URI/authority rewrite of the generated route'),
    retries: HTTPRetry.optional().describe('Istio retry policy of the generated route'),
    headers: IstioHeaders.optional().describe('Istio header operations of the generated route'),
    mirror: z.array(HTTPRequestMirrorFilter).optional().describe('Gateway API request mirrors'),
    corsPolicy: CorsPolicy.optional().describe('Istio CORS policy of the generated route'),
    meshName: z.string().optional().describe("App Mesh's mesh name (refused: Sluice has no App Mesh router)"),
    backends: z
      .array(z.string())
      .optional()
      .describe("App Mesh's backends (refused: Sluice has no App Mesh router)"),
    apex: CustomMetadata.optional().describe('Labels/annotations for the <service> Service'),
    primary: CustomMetadata.optional().describe('Labels/annotations for the <service>-primary Service'),
    canary: CustomMetadata.optional().describe('Labels/annotations for the <service>-canary Service'),
  }),
  NO_APP_MESH.map(([field, message]) => ({
    rule: `!has(self.${field})`,
    message,
    fieldPath: `.${field}`,
    check: (service: { meshName?: unknown; backends?: unknown }) => service[field] === undefined,
  })),
);
export type CanaryService = z.output<typeof CanaryService>;

// ---- Analysis ----------------------------------------------------------------------

export const ThresholdRange = withRules(
  z.object({
    min: z.number().optional().describe('Lowest passing value'),
    max: z.number().optional().describe('Highest passing value'),
  }),
  [
    {
      rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
      message: 'thresholdRange.min must be <= thresholdRange.max',
      fieldPath: '.min',
      check: (range) => range.min === undefined || range.max === undefined || range.min <= range.max,
    },
  ],
);

/**
 * One of two fields is set unless the name is a built-in one: the CEL rule for the CRD and
 * the same check in zod, from one place.
 */
function setUnlessBuiltin<K extends string>(
  [first, second]: readonly [K, K],
  builtins: readonly string[],
  message: string,
): ValidationRule<{ name: string } & Partial<Record<K, unknown>>> {
  return {
    rule: `has(self.${first}) || has(self.${second}) || self.name in [${builtins.map((name) => `'${name}'`).join(', ')}]`,
    message,
    fieldPath: `.${first}`,
    check: (value) =>
      value[first] !== undefined || value[second] !== undefined || builtins.includes(value.name),
  };
}

export const CanaryMetric = withRules(
  z.object({
    name: z
      .string()
      .min(1)
      .describe('Name of the check; request-success-rate and request-duration are built in'),
    interval: durationString()
      .default(DEFAULT_METRIC_INTERVAL)
      .describe('Query window, rendered as {{ interval }}'),
    threshold: z
      .number()
      .optional()
      .describe('Deprecated by Flagger: highest passing value (use thresholdRange)'),
    thresholdRange: ThresholdRange.optional().describe('Passing range: min and/or max'),
    query: z.string().optional().describe('Inline query, for the metricsServer Prometheus (use templateRef)'),
    templateRef: referenceTo('MetricTemplate').optional().describe('MetricTemplate that holds the query'),
    templateVariables: StringMap.optional().describe('Variables for the template, as {{ variables.<key> }}'),
    successCondition: celExpression()
      .optional()
      .describe('(Sluice) CEL over result: the check passes only when true'),
    failureCondition: celExpression()
      .optional()
      .describe('(Sluice) CEL over result: the check fails when true'),
    dryRun: z.boolean().optional().describe('(Sluice) evaluate and report, never fail the analysis'),
    failFast: z
      .boolean()
      .optional()
      .describe('(Sluice) also check between steps, every analysis.checkEvery; a failure rolls back at once'),
  }),
  [
    {
      rule: '!(has(self.failFast) && self.failFast && has(self.dryRun) && self.dryRun)',
      message: 'failFast cannot be combined with dryRun: a dry-run check never rolls back',
      fieldPath: '.failFast',
      check: (metric) => !(metric.failFast === true && metric.dryRun === true),
    },
    setUnlessBuiltin(
      ['templateRef', 'query'],
      BUILTIN_METRICS,
      `templateRef or query is required unless the metric name is one of ${BUILTIN_METRICS.join(', ')}`,
    ),
  ],
);
export type CanaryMetric = z.output<typeof CanaryMetric>;

export const HOOK_TYPES = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
] as const;
export type HookType = (typeof HOOK_TYPES)[number];

export const CanaryWebhook = z.object({
  name: z.string().min(1).describe('Name of the webhook, shown in events'),
  type: z
    .enum(HOOK_TYPES)
    .default('rollout')
    .describe('When it is called: ' + HOOK_TYPES.join(', ')),
  url: z
    .string()
    .regex(/^https?:\/\/\S+$/, { message: 'expected an http:// or https:// URL' })
    .describe('URL Sluice POSTs the payload to; a 2xx answer passes'),
  muteAlert: z.boolean().optional().describe('Do not alert when this webhook fails'),
  timeout: durationString().default(DEFAULT_WEBHOOK_TIMEOUT).describe('Request timeout'),
  metadata: StringMap.optional().describe('Key/value pairs added to the payload'),
  retries: z
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe('Retries after a failed call (Flagger default 0; at most 10)'),
  insecureSkipVerify: z
    .boolean()
    .optional()
    .describe('Sluice: accept any TLS certificate from this receiver (self-signed in-cluster services)'),
  secretRef: LocalObjectReference.optional().describe(
    'Sluice: a Secret in the Canary\'s namespace whose key "token" is sent as "Authorization: Bearer <token>" (the load tester\'s --token-file)',
  ),
});
export type CanaryWebhook = z.output<typeof CanaryWebhook>;

export const ALERT_SEVERITIES = ['info', 'warn', 'error'] as const;

export const CanaryAlert = z.object({
  name: z.string().min(1).describe('Name of the alert'),
  severity: z
    .enum(ALERT_SEVERITIES)
    .default('info')
    .describe('Lowest severity sent: info (everything), warn, error'),
  providerRef: referenceTo('AlertProvider').describe('AlertProvider to send through'),
});
export type CanaryAlert = z.output<typeof CanaryAlert>;

export const SessionAffinity = z.object({
  cookieName: z.string().min(1).describe('Cookie that pins a user to the canary'),
  maxAge: z.int().min(1).default(DEFAULT_SESSION_MAX_AGE).describe('Cookie lifetime in seconds'),
});

// ---- The statistical judge (Sluice) --------------------------------------------------

/** Judged metrics Sluice knows for every provider with built-in metrics. */
export const JUDGE_BUILTINS = ['errors', 'latency'] as const;
export type JudgeBuiltin = (typeof JUDGE_BUILTINS)[number];
export const DEFAULT_JUDGE_CONFIDENCE = 0.99;
export const JUDGE_DIRECTIONS = ['increase', 'decrease', 'either'] as const;
export type JudgeDirection = (typeof JUDGE_DIRECTIONS)[number];

/** `10%` (relative) or `0.5` (absolute, in the metric's unit). */
export const TOLERANCE_PATTERN = '^[0-9]+(\\.[0-9]+)?%?$';

export const JudgeQuery = z.object({
  templateRef: CrossNamespaceObjectReference.describe(
    'MetricTemplate whose query is run once with {{ target }} = the canary workload, once with the primary',
  ),
  templateVariables: StringMap.optional().describe('Variables for the template, as {{ variables.<key> }}'),
});
export type JudgeQuery = z.output<typeof JudgeQuery>;

export const JudgedMetric = withRules(
  z.object({
    name: z.string().min(1).max(63).describe('Name of the judged metric; errors and latency are built in'),
    rate: z
      .object({
        events: JudgeQuery.describe('Count of bad events (e.g. 5xx answers) since {{ interval }} ago'),
        total: JudgeQuery.describe('Count of all events (e.g. requests) since {{ interval }} ago'),
      })
      .optional()
      .describe('A rate metric: two counts per workload, bad events over all events'),
    distribution: JudgeQuery.optional().describe(
      'A distribution metric: histogram bucket counts per workload, one series per le label',
    ),
    maxIncrease: z
      .string()
      .regex(new RegExp(TOLERANCE_PATTERN), {
        message: 'expected a relative tolerance such as "10%" or an absolute one such as "0.5"',
      })
      .optional()
      .describe(
        'Tolerated worsening of the canary against the primary: "10%" (relative) or a number in the metric\'s unit (percentage points for rates, the bucket unit for distributions, milliseconds for latency)',
      ),
    direction: z
      .enum(JUDGE_DIRECTIONS)
      .default('increase')
      .describe('Which change is a regression: increase (default), decrease, or either'),
    critical: z
      .boolean()
      .default(true)
      .describe('A decided regression rolls back at once (false: it counts as a failed check per interval)'),
  }),
  [
    {
      rule: '!(has(self.rate) && has(self.distribution))',
      message: 'set at most one of rate or distribution',
      fieldPath: '.distribution',
      check: (metric) => !(metric.rate && metric.distribution),
    },
    setUnlessBuiltin(
      ['rate', 'distribution'],
      JUDGE_BUILTINS,
      `rate or distribution is required unless the name is a built-in judged metric (${JUDGE_BUILTINS.join(', ')})`,
    ),
  ],
);
export type JudgedMetric = z.output<typeof JudgedMetric>;

const isCustom = (metric: { rate?: unknown; distribution?: unknown }) =>
  metric.rate !== undefined || metric.distribution !== undefined;

export const Judge = withRules(
  z.object({
    confidence: z
      .number()
      .min(0.5)
      .max(0.9999)
      .default(DEFAULT_JUDGE_CONFIDENCE)
      .describe('How sure the judge must be before it calls a regression (0.5–0.9999)'),
    builtins: z
      .array(z.enum(JUDGE_BUILTINS))
      .max(JUDGE_BUILTINS.length)
      .default([...JUDGE_BUILTINS])
      .describe('Built-in judged metrics to run (default both: errors and latency)'),
    metrics: z
      .array(JudgedMetric)
      .max(16)
      .optional()
      .describe('Settings for the built-ins (by name) and custom judged metrics'),
  }),
  [
    {
      rule: 'self.builtins.all(b, self.builtins.exists_one(c, c == b))',
      message: 'spec.analysis.judge.builtins must not repeat a name',
      fieldPath: '.builtins',
      check: (judge) => new Set(judge.builtins).size === judge.builtins.length,
    },
    {
      rule: '!has(self.metrics) || self.metrics.all(m, self.metrics.exists_one(n, n.name == m.name))',
      message: 'spec.analysis.judge.metrics names must be unique',
      fieldPath: '.metrics',
      check: (judge) =>
        new Set((judge.metrics ?? []).map((m) => m.name)).size === (judge.metrics ?? []).length,
    },
    {
      rule: '!has(self.metrics) || self.metrics.all(m, has(m.rate) || has(m.distribution) || m.name in self.builtins)',
      message:
        'a judged metric without rate or distribution configures a built-in, which must be listed in spec.analysis.judge.builtins',
      fieldPath: '.metrics',
      check: (judge) =>
        (judge.metrics ?? []).every(
          (m) => isCustom(m) || (judge.builtins as readonly string[]).includes(m.name),
        ),
    },
    {
      rule: '!has(self.metrics) || self.metrics.all(m, !(has(m.rate) || has(m.distribution)) || !(m.name in self.builtins))',
      message:
        'a custom judged metric cannot take the name of a built-in in spec.analysis.judge.builtins; rename it or remove the built-in',
      fieldPath: '.metrics',
      check: (judge) =>
        (judge.metrics ?? []).every(
          (m) => !isCustom(m) || !(judge.builtins as readonly string[]).includes(m.name),
        ),
    },
    {
      rule: 'size(self.builtins) > 0 || (has(self.metrics) && size(self.metrics) > 0)',
      message: 'spec.analysis.judge has nothing to judge: list a built-in or a custom metric',
      fieldPath: '.builtins',
      check: (judge) => judge.builtins.length > 0 || (judge.metrics?.length ?? 0) > 0,
    },
  ],
);
export type Judge = z.output<typeof Judge>;

/** One explicit step (Sluice, Argo-style): exactly one of setWeight, pause, analysis. */
export const AnalysisStep = withRules(
  z.object({
    setWeight: percentage().optional().describe('Route this percentage of traffic to the canary'),
    pause: z
      .object({
        duration: durationString().optional().describe('How long to wait; without it, wait until promoted'),
      })
      .optional()
      .describe('Wait for a duration, or until a promote command'),
    analysis: z.object({}).optional().describe('Run the metric checks and rollout webhooks once'),
  }),
  [
    {
      rule: '[has(self.setWeight), has(self.pause), has(self.analysis)].filter(x, x).size() == 1',
      message: 'a step must set exactly one of setWeight, pause or analysis',
      check: (step) =>
        [step.setWeight !== undefined, step.pause !== undefined, step.analysis !== undefined].filter(Boolean)
          .length === 1,
    },
  ],
);
export type AnalysisStep = z.output<typeof AnalysisStep>;

/** `stepReplicas` entry: a pod count (at least 1) or a percentage of replicas (`"50%"`). */
export const STEP_REPLICAS_PATTERN = '^(100|[1-9][0-9]?)%$';
export const StepReplicas = z
  .union([z.int().min(1), z.string().regex(new RegExp(STEP_REPLICAS_PATTERN))])
  .meta({ 'x-kubernetes-int-or-string': true })
  .describe('Pods on the new revision: a count, or a percentage of replicas such as "50%"');
export type StepReplicas = z.output<typeof StepReplicas>;

const ascending = (list: readonly number[]): boolean =>
  list.every((value, i) => i === 0 || value > list[i - 1]!);

export const CanaryAnalysis = withRules(
  z.object({
    interval: durationAtLeast(MIN_ANALYSIS_INTERVAL, 'spec.analysis.interval')
      .default(DEFAULT_ANALYSIS_INTERVAL)
      .describe('Time between two analysis steps (at least 10s)'),
    threshold: z.int().min(1).default(DEFAULT_THRESHOLD).describe('Failed checks tolerated before rollback'),
    inconclusiveLimit: z
      .int()
      .min(1)
      .default(DEFAULT_INCONCLUSIVE_LIMIT)
      .describe(
        'Consecutive inconclusive analyses (a metric whose successCondition and failureCondition are both false) before the canary pauses for a person',
      ),
    maxWeight: percentage(1)
      .optional()
      .describe('Highest canary weight; defaults to 100, or the last stepWeights entry'),
    stepWeight: percentage(1).optional().describe('Weight added at each step'),
    stepWeights: withRules(z.array(percentage(1)).max(100), [
      {
        rule: 'self.isSorted() && self.all(w, self.exists_one(x, x == w))',
        message: 'spec.analysis.stepWeights must be strictly ascending',
        check: ascending,
      },
    ])
      .optional()
      .describe('Explicit weights, ascending, e.g. [5, 10, 25, 50]'),
    stepReplicas: z
      .array(StepReplicas)
      .min(1)
      .max(100)
      .optional()
      .describe(
        '(Sluice, StatefulSet targets) pods on the new revision at each step, highest ordinals first: a count or a percentage of spec.replicas, e.g. [1, 2, "50%"]',
      ),
    stepWeightPromotion: percentage(1)
      .optional()
      .describe('Weight added at each promotion step; unset promotes in one step'),
    iterations: z
      .int()
      .min(0)
      .optional()
      .describe('Number of checks for A/B testing (with match) and blue/green'),
    match: z
      .array(HTTPMatchRequest)
      .max(32)
      .optional()
      .describe('A/B testing: requests that go to the canary'),
    mirror: z
      .boolean()
      .optional()
      .describe('Mirror traffic to the canary before shifting (blue/green, Istio)'),
    mirrorWeight: percentage().optional().describe('Percentage of traffic mirrored; unset mirrors all'),
    sessionAffinity: SessionAffinity.optional().describe('Keep users who reached the canary on it'),
    primaryReadyThreshold: percentage()
      .default(DEFAULT_READY_THRESHOLD)
      .describe('Percent of primary pods that must be ready'),
    canaryReadyThreshold: percentage()
      .default(DEFAULT_READY_THRESHOLD)
      .describe('Percent of canary pods that must be ready'),
    metrics: z.array(CanaryMetric).max(64).optional().describe('Checks run at every step'),
    webhooks: z.array(CanaryWebhook).max(64).optional().describe('Gates, hooks and event receivers'),
    alerts: z.array(CanaryAlert).max(32).optional().describe('Where to send notifications'),
    steps: z
      .array(AnalysisStep)
      .max(100)
      .optional()
      .describe('(Sluice) explicit steps instead of stepWeight/stepWeights/maxWeight'),
    judge: Judge.optional().describe(
      '(Sluice) compare the canary with the primary statistically, every checkEvery (see docs/judge.md)',
    ),
    checkEvery: durationAtLeast(MIN_CHECK_EVERY, 'spec.analysis.checkEvery')
      .optional()
      .describe(
        `(Sluice) cadence of the judge and failFast checks between steps (default ${DEFAULT_CHECK_EVERY}; never sooner than the scrape interval the controller reads from --metrics-server, never later than the interval)`,
      ),
  }),
  [
    {
      rule: '!has(self.stepWeight) || !has(self.maxWeight) || self.stepWeight <= self.maxWeight',
      message: 'spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
      fieldPath: '.stepWeight',
      check: (a) => a.stepWeight === undefined || a.maxWeight === undefined || a.stepWeight <= a.maxWeight,
    },
    {
      rule: '!has(self.match) || size(self.match) == 0 || (has(self.iterations) && self.iterations > 0)',
      message: 'spec.analysis.iterations is required when spec.analysis.match is set (A/B testing)',
      fieldPath: '.iterations',
      check: (a) => !a.match?.length || (a.iterations ?? 0) > 0,
    },
    {
      rule:
        '(has(self.stepWeight) && self.stepWeight > 0) || (has(self.stepWeights) && size(self.stepWeights) > 0) || ' +
        '(has(self.iterations) && self.iterations > 0) || (has(self.steps) && size(self.steps) > 0) || ' +
        '(has(self.stepReplicas) && size(self.stepReplicas) > 0)',
      message: 'spec.analysis needs one of stepWeight, stepWeights, iterations, steps or stepReplicas',
      check: (a) =>
        (a.stepWeight ?? 0) > 0 ||
        (a.stepWeights?.length ?? 0) > 0 ||
        (a.iterations ?? 0) > 0 ||
        (a.steps?.length ?? 0) > 0 ||
        (a.stepReplicas?.length ?? 0) > 0,
    },
    {
      rule:
        '!has(self.steps) || size(self.steps) == 0 || ' +
        '(!has(self.stepWeight) && !has(self.stepWeights) && !has(self.maxWeight) && !has(self.iterations))',
      message: 'spec.analysis.steps cannot be combined with stepWeight, stepWeights, maxWeight or iterations',
      fieldPath: '.steps',
      check: (a) =>
        !a.steps?.length ||
        (a.stepWeight === undefined &&
          a.stepWeights === undefined &&
          a.maxWeight === undefined &&
          a.iterations === undefined),
    },
    {
      rule: '!has(self.mirror) || !self.mirror || !has(self.match) || size(self.match) == 0',
      message:
        'spec.analysis.mirror cannot be combined with spec.analysis.match: A/B testing sends matching requests to the canary and mirrors nothing',
      fieldPath: '.mirror',
      check: (a) => !a.mirror || !a.match?.length,
    },
    {
      rule: '!has(self.stepWeights) || !has(self.maxWeight) || size(self.stepWeights) == 0 || self.stepWeights[size(self.stepWeights) - 1] <= self.maxWeight',
      message: 'the last of spec.analysis.stepWeights must be <= spec.analysis.maxWeight',
      fieldPath: '.stepWeights',
      check: (a) =>
        !a.stepWeights?.length || a.maxWeight === undefined || a.stepWeights.at(-1)! <= a.maxWeight,
    },
    {
      rule:
        `!has(self.checkEvery) || !self.checkEvery.matches(r'${DURATION_PATTERN}') || ` +
        `!self.interval.matches(r'${DURATION_PATTERN}') || duration(self.checkEvery) <= duration(self.interval)`,
      message: 'spec.analysis.checkEvery must not be longer than spec.analysis.interval',
      fieldPath: '.checkEvery',
      check: (a) =>
        a.checkEvery === undefined ||
        (parseDuration(a.checkEvery) ?? 0) <= (parseDuration(a.interval) ?? Number.POSITIVE_INFINITY),
    },
    {
      rule: '!has(self.checkEvery) || has(self.judge) || (has(self.metrics) && self.metrics.exists(m, has(m.failFast) && m.failFast))',
      message:
        'spec.analysis.checkEvery only paces the judge and failFast metrics; set analysis.judge or a failFast metric, or remove it',
      fieldPath: '.checkEvery',
      check: (a) =>
        a.checkEvery === undefined ||
        a.judge !== undefined ||
        (a.metrics ?? []).some((metric) => metric.failFast === true),
    },
  ],
);
export type CanaryAnalysis = z.output<typeof CanaryAnalysis>;

// ---- Spec and object ----------------------------------------------------------------

export const CanarySpec = withRules(
  z.object({
    provider: z
      .string()
      .optional()
      .describe(
        `Traffic provider for this Canary: ${providerSpellings().join(', ')}; default istio (--mesh-provider)`,
      ),
    metricsServer: z.string().optional().describe('Prometheus URL for builtin metrics and inline queries'),
    targetRef: TargetRef.describe('The Deployment or DaemonSet being released'),
    autoscalerRef: AutoscalerRef.optional().describe('Autoscaler of the target, copied for the primary'),
    ingressRef: withRules(kindRef('Ingress', 'NGINX Ingress'), [
      {
        rule: "self.apiVersion == 'networking.k8s.io/v1'",
        message: 'spec.ingressRef.apiVersion must be networking.k8s.io/v1',
        fieldPath: '.apiVersion',
        check: (ref) => ref.apiVersion === 'networking.k8s.io/v1',
      },
    ])
      .optional()
      .describe('Ingress routed by the nginx provider'),
    routeRef: kindRef('ApisixRoute', 'APISIX route')
      .optional()
      .describe('ApisixRoute routed by the apisix provider (its canary copy is generated)'),
    upstreamRef: z
      .object({
        apiVersion: z.string().min(1).describe('API version of the Gloo Upstream'),
        kind: z.literal('Upstream').describe('Must be Upstream'),
        name: z.string().min(1).describe('Name of the Gloo Upstream'),
        namespace: z.string().optional().describe('Namespace of the Gloo Upstream'),
      })
      .optional()
      .describe('Gloo Edge Upstream (refused: the gloo provider routes through Gloo Gateway)'),
    service: CanaryService.optional().describe(
      'The Services and routing object generated for the target (required, but for a knative Canary, which has none)',
    ),
    analysis: CanaryAnalysis.describe('How a new revision is checked and how traffic moves'),
    progressDeadlineSeconds: z
      .int()
      .min(1)
      .default(DEFAULT_PROGRESS_DEADLINE_SECONDS)
      .describe(
        'Seconds a canary may take to become ready before it is rolled back (and a new primary at bootstrap before the Canary reports Stalled)',
      ),
    skipAnalysis: z.boolean().optional().describe('Promote new revisions without analysis'),
    suspend: z.boolean().optional().describe('Ignore changes and pause any analysis in progress'),
    revertOnDeletion: z
      .boolean()
      .optional()
      .describe('On deletion, give the target back its traffic and replicas'),
  }),
  [
    ...NO_ROUTER_FIELDS.map(([field, message]) => ({
      rule: `!has(self.${field})`,
      message,
      fieldPath: `.${field}`,
      check: (spec: { upstreamRef?: unknown }) => spec[field] === undefined,
    })),
    ...STATEFULSET_REFUSED.map(([path, why]) => ({
      rule: `self.targetRef.kind != 'StatefulSet' || !has(self.${path})`,
      message: `spec.${path} does not apply to a StatefulSet canary: ${why}`,
      fieldPath: `.${path}`,
      check: (spec: object) => targetKindOf(spec) !== 'StatefulSet' || valueAt(spec, path) === undefined,
    })),
    {
      rule: "self.targetRef.kind != 'StatefulSet' || !has(self.analysis.mirror) || !self.analysis.mirror",
      message: `spec.analysis.mirror does not apply to a StatefulSet canary: ${STATEFULSET_PODS}`,
      fieldPath: '.analysis.mirror',
      check: (spec) => spec.targetRef.kind !== 'StatefulSet' || !spec.analysis.mirror,
    },
    {
      rule: "self.targetRef.kind != 'StatefulSet' || !has(self.analysis.metrics) || self.analysis.metrics.all(m, has(m.templateRef) || has(m.query))",
      message:
        "spec.analysis.metrics: a StatefulSet canary's built-in metrics would read the whole StatefulSet, both revisions at once; use a MetricTemplate (or query) with {{ canaryPods }} (docs/routing.md#statefulset-targets)",
      fieldPath: '.analysis.metrics',
      check: (spec) =>
        spec.targetRef.kind !== 'StatefulSet' ||
        (spec.analysis.metrics ?? []).every((m) => m.templateRef !== undefined || m.query !== undefined),
    },
    {
      rule: "self.targetRef.kind != 'StatefulSet' || !has(self.analysis.judge) || !has(self.analysis.judge.builtins) || size(self.analysis.judge.builtins) == 0",
      message:
        "spec.analysis.judge.builtins: the built-in judged metrics read workload series that cannot tell a StatefulSet's revisions apart; set builtins: [] and judge custom metrics with {{ pods }} (docs/routing.md#statefulset-targets)",
      fieldPath: '.analysis.judge.builtins',
      check: (spec) =>
        spec.targetRef.kind !== 'StatefulSet' || (spec.analysis.judge?.builtins ?? []).length === 0,
    },
    {
      rule: "!has(self.analysis.stepReplicas) || self.targetRef.kind == 'StatefulSet'",
      message:
        'spec.analysis.stepReplicas is for StatefulSet targets (pods per step); a Deployment or DaemonSet canary uses stepWeight, stepWeights or steps',
      fieldPath: '.analysis.stepReplicas',
      check: (spec) => spec.analysis.stepReplicas === undefined || spec.targetRef.kind === 'StatefulSet',
    },
    {
      rule: '!has(self.analysis.stepReplicas) || !has(self.analysis.steps)',
      message: 'spec.analysis.stepReplicas cannot be combined with spec.analysis.steps: use one of them',
      fieldPath: '.analysis.stepReplicas',
      check: (spec) => spec.analysis.stepReplicas === undefined || spec.analysis.steps === undefined,
    },
    {
      rule: "self.targetRef.kind != 'StatefulSet' || has(self.analysis.stepReplicas) || has(self.analysis.steps)",
      message:
        'a StatefulSet canary needs spec.analysis.stepReplicas (e.g. [1, "50%"]) or spec.analysis.steps',
      fieldPath: '.analysis',
      check: (spec) =>
        spec.targetRef.kind !== 'StatefulSet' ||
        spec.analysis.stepReplicas !== undefined ||
        spec.analysis.steps !== undefined,
    },
    {
      rule: "!has(self.autoscalerRef) || self.targetRef.kind != 'DaemonSet'",
      message: 'spec.autoscalerRef cannot scale a DaemonSet (it runs one pod per node): remove it',
      fieldPath: '.autoscalerRef',
      check: (spec) => spec.autoscalerRef === undefined || spec.targetRef.kind !== 'DaemonSet',
    },
    {
      rule: `has(self.service) || (has(self.provider) && self.provider == 'knative')`,
      message:
        'spec.service is required (a knative Canary, which routes between the Knative Service’s revisions, has none)',
      fieldPath: '.service',
      check: (spec) => spec.service !== undefined || spec.provider === 'knative',
    },
    {
      rule: `!(has(self.provider) && self.provider == 'knative') || !has(self.service)`,
      message:
        'a knative Canary has no spec.service: Knative routes between the revisions of the Service in spec.targetRef (remove spec.service)',
      fieldPath: '.service',
      check: (spec) => spec.provider !== 'knative' || spec.service === undefined,
    },
    {
      rule: `(has(self.provider) && self.provider == 'knative') == (self.targetRef.kind == 'Service' && self.targetRef.apiVersion.startsWith('${KNATIVE_GROUP}/'))`,
      message: `a Knative Service (${KNATIVE_GROUP}) is released by provider knative, and provider knative releases a Knative Service: set both or neither`,
      fieldPath: '.targetRef',
      check: (spec) => (spec.provider === 'knative') === isKnativeTarget(spec.targetRef),
    },
    {
      rule: `!(has(self.provider) && self.provider == 'knative') || !has(self.autoscalerRef)`,
      message:
        'spec.autoscalerRef does not apply to a knative Canary: Knative scales every revision itself (remove it)',
      fieldPath: '.autoscalerRef',
      check: (spec) => spec.provider !== 'knative' || spec.autoscalerRef === undefined,
    },
    {
      rule: `!(has(self.provider) && self.provider == 'knative') || ((!has(self.analysis.primaryReadyThreshold) || self.analysis.primaryReadyThreshold == ${DEFAULT_READY_THRESHOLD}) && (!has(self.analysis.canaryReadyThreshold) || self.analysis.canaryReadyThreshold == ${DEFAULT_READY_THRESHOLD}))`,
      message:
        'spec.analysis.primaryReadyThreshold and canaryReadyThreshold do not apply to a knative Canary: a revision is ready when Knative says so, not by a share of pods (remove them)',
      fieldPath: '.analysis',
      check: (spec) =>
        spec.provider !== 'knative' ||
        (spec.analysis.primaryReadyThreshold === DEFAULT_READY_THRESHOLD &&
          spec.analysis.canaryReadyThreshold === DEFAULT_READY_THRESHOLD),
    },
  ],
  // Routers and targets read spec.service; a knative Canary has no Services of Sluice's, so
  // it gets none but the names (from the target, as for every Canary without service.name).
).transform((spec) => ({
  ...spec,
  service: spec.service ?? { port: KNATIVE_PORT, portName: DEFAULT_PORT_NAME },
}));
export type CanarySpec = z.output<typeof CanarySpec>;

export const Canary = customResource('Canary', CanarySpec, CanaryStatus);
export type Canary = z.output<typeof Canary>;
/** A Canary as written by a person (defaults not yet applied). */
export type CanaryInput = z.input<typeof Canary>;

// ---- Derived values the controller and the machine share -----------------------------

/** Flagger's rule: the last stepWeights entry, else maxWeight, else 100. */
export function effectiveMaxWeight(analysis: CanaryAnalysis): number {
  const last = analysis.stepWeights?.at(-1);
  if (last !== undefined) return Math.min(DEFAULT_MAX_WEIGHT, last);
  return analysis.maxWeight ?? DEFAULT_MAX_WEIGHT;
}

export type Strategy = 'canary' | 'abTesting' | 'blueGreen';

/** match + iterations is A/B testing, iterations alone blue/green, anything else a weighted canary. */
export function strategyOf(analysis: CanaryAnalysis): Strategy {
  if ((analysis.iterations ?? 0) > 0) return analysis.match?.length ? 'abTesting' : 'blueGreen';
  return 'canary';
}

/** The analysis interval in milliseconds. */
export function analysisIntervalMs(analysis: CanaryAnalysis): number {
  return parseDuration(analysis.interval) ?? parseDuration(DEFAULT_ANALYSIS_INTERVAL)!;
}

/** Names of the generated Services: apex, primary, canary. */
export function serviceNames(spec: CanarySpec): { apex: string; primary: string; canary: string } {
  const apex = spec.service.name ?? spec.targetRef.name;
  return { apex, primary: `${apex}-primary`, canary: `${apex}-canary` };
}
