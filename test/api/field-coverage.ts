import type { RouterKind } from '../../src/api/providers.ts';
import type { RoutingFeatureName } from '../../src/routers/capabilities.ts';

// Every field of the CRDs, and what keeps it from being accepted and then ignored: a test
// of its behaviour, a refusal naming it (the sample shows it refused), or, for the routing
// fields, the capability table (refused where a provider lacks the feature, tested where it
// has it). test/api/fields.test.ts walks the schemas and fails on any field missing here.

/** Files that test a behaviour; each must mention `mentions` (default: the last name of the entry's field). */
export interface Tested {
  tested: readonly string[];
  mentions?: string;
}

export type FieldCoverage =
  | Tested
  /** Refused with an issue naming the field, by the CRD's CEL rules and zod, or by Sluice's validation. */
  | { refused: 'admission' | 'validation'; sample: Record<string, unknown> }
  /** A routing feature: refused for providers without it (capabilities.test.ts), tested for those with it. */
  | { routing: RoutingFeatureName; tested: Partial<Record<RouterKind, readonly string[]>>; mentions?: string }
  /** Built and tested outside the controller, which consults it once its wiring lands (the judge: issue 15). */
  | (Tested & { awaiting: string })
  /** Another area's, being built now. */
  | { elsewhere: string }
  /** Nothing sets it yet, said here so it cannot be forgotten (reported with issue 13). */
  | { gap: string };

const ISTIO = ['src/routers/istio.test.ts', 'test/routers/istio.test.ts'];
const GATEWAY = ['src/routers/gatewayapi.test.ts', 'test/routers/gatewayapi.test.ts'];
const SMI = ['src/routers/smi.test.ts', 'test/routers/smi.test.ts'];
const NGINX = ['src/routers/nginx.test.ts', 'test/routers/nginx.test.ts'];
const NGINX_WEIGHTS = ['src/routers/nginx.test.ts'];
const PLAN = ['src/machine/plan.test.ts'];
const CONTOUR = ['test/routers/contour.test.ts'];
const TRAEFIK = ['test/routers/traefik.test.ts'];
const KUMA = ['src/routers/kuma.test.ts'];
const APISIX = ['src/routers/apisix.test.ts'];
const SKIPPER = ['test/routers/skipper.test.ts'];
const KNATIVE = ['test/routers/knative.test.ts'];
/** gloo and linkerd write gatewayapi's HTTPRoute (one writer), checked through each in this file too. */
const GW_PROVIDERS = ['test/routers/gateway-providers.test.ts'];
const PROPERTY = ['src/routers/match.property.test.ts'];
const SERVICES = ['src/routers/services.test.ts'];
const HPA = ['test/targets/hpa.test.ts'];

/**
 * The four fields of a reference `field` to another object: its name and namespace tested in
 * `test` (the name's test mentions the reference), any other apiVersion or kind refused at
 * admission — `sample(ref)` is the Canary spec holding the reference with `ref` besides its name.
 */
function reference(
  field: string,
  test: string,
  sample: (ref: Record<string, string>) => Record<string, unknown>,
  refused: { apiVersion: string; kind: string },
): Record<string, FieldCoverage> {
  return {
    [`${field}.name`]: { tested: [test], mentions: field.slice(field.lastIndexOf('.') + 1) },
    [`${field}.namespace`]: { tested: [test], mentions: 'namespace' },
    [`${field}.apiVersion`]: { refused: 'admission', sample: sample({ apiVersion: refused.apiVersion }) },
    [`${field}.kind`]: { refused: 'admission', sample: sample({ kind: refused.kind }) },
  };
}

const MIRRORS = { istio: ISTIO, gatewayapi: GATEWAY, contour: CONTOUR, traefik: TRAEFIK, gloo: GW_PROVIDERS };

/** Canary fields (a key covers the fields under it). */
export const CANARY_FIELDS: Record<string, FieldCoverage> = {
  'spec.provider': { tested: ['src/routers/factory.test.ts', 'src/routers/capabilities.test.ts'] },
  'spec.metricsServer': { tested: ['test/analysis/scenario.test.ts'] },
  'spec.targetRef.apiVersion': {
    refused: 'admission',
    sample: { targetRef: { apiVersion: 'apps/v1beta1', kind: 'Deployment', name: 'web' } },
  },
  'spec.targetRef.kind': {
    refused: 'validation',
    sample: { targetRef: { apiVersion: 'v1', kind: 'Service', name: 'web' } },
  },
  'spec.targetRef.name': { tested: ['test/targets/deployment.test.ts'], mentions: 'targetRef' },
  'spec.autoscalerRef.apiVersion': {
    refused: 'admission',
    sample: {
      autoscalerRef: { apiVersion: 'keda.sh/v1alpha1', kind: 'HorizontalPodAutoscaler', name: 'web' },
    },
  },
  'spec.autoscalerRef.kind': {
    refused: 'validation',
    sample: { autoscalerRef: { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: 'web' } },
  },
  'spec.autoscalerRef.name': { tested: HPA, mentions: 'autoscalerRef' },
  'spec.autoscalerRef.primaryScalerQueries': {
    refused: 'admission',
    sample: {
      autoscalerRef: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        name: 'web',
        primaryScalerQueries: { cpu: 'x' },
      },
    },
  },
  'spec.autoscalerRef.primaryScalerReplicas': { tested: HPA, mentions: 'primaryScalerReplicas' },
  'spec.ingressRef': {
    routing: 'ingressRef',
    tested: { nginx: NGINX, skipper: SKIPPER },
  },
  'spec.ingressRef.apiVersion': {
    refused: 'admission',
    sample: { ingressRef: { apiVersion: 'extensions/v1beta1', kind: 'Ingress', name: 'web' } },
  },
  'spec.routeRef': { routing: 'routeRef', tested: { apisix: APISIX } },
  'spec.upstreamRef': {
    refused: 'admission',
    sample: { upstreamRef: { apiVersion: 'gloo.solo.io/v1', kind: 'Upstream', name: 'web' } },
  },
  'spec.service.name': { tested: SERVICES },
  'spec.service.port': { tested: SERVICES },
  'spec.service.portName': {
    tested: ['test/api/canary-crd.test.ts', 'src/routers/services.test.ts'],
    mentions: 'http',
  },
  'spec.service.targetPort': { tested: ['test/routers/kubernetes.test.ts'] },
  'spec.service.appProtocol': { tested: SERVICES },
  'spec.service.protocol': { tested: ['test/routers/gatewayapi-grpc-tcp.test.ts'] },
  'spec.service.portDiscovery': { tested: SERVICES },
  'spec.service.timeout': {
    routing: 'timeout',
    tested: { istio: ISTIO, gatewayapi: GATEWAY, contour: CONTOUR, gloo: GATEWAY, linkerd: GATEWAY },
  },
  'spec.service.gateways': { routing: 'gateways', tested: { istio: ISTIO } },
  'spec.service.gatewayRefs': {
    routing: 'gatewayRefs',
    tested: { gatewayapi: GATEWAY, gloo: GW_PROVIDERS, linkerd: GW_PROVIDERS },
  },
  'spec.service.hosts': {
    routing: 'hosts',
    tested: {
      istio: ISTIO,
      gatewayapi: GATEWAY,
      smi: ['test/routers/smi.test.ts'],
      contour: CONTOUR,
      gloo: GATEWAY,
    },
  },
  'spec.service.delegation': { routing: 'delegation', tested: { istio: ['src/routers/istio.test.ts'] } },
  'spec.service.trafficPolicy': { routing: 'trafficPolicy', tested: { istio: ISTIO } },
  'spec.service.match': {
    routing: 'routeMatch',
    tested: {
      istio: PROPERTY,
      gatewayapi: PROPERTY,
      contour: PROPERTY,
      kuma: PROPERTY,
      gloo: PROPERTY,
      linkerd: PROPERTY,
    },
  },
  'spec.service.rewrite': {
    routing: 'rewrite',
    tested: { istio: ISTIO, gatewayapi: GATEWAY, gloo: GATEWAY },
  },
  'spec.service.retries': { routing: 'retries', tested: { istio: ISTIO, contour: CONTOUR } },
  'spec.service.headers': {
    routing: 'headers',
    tested: { istio: ISTIO, gatewayapi: GATEWAY, contour: CONTOUR, gloo: GATEWAY, linkerd: GATEWAY },
  },
  'spec.service.mirror': { routing: 'requestMirrors', tested: { gatewayapi: GATEWAY, gloo: GATEWAY } },
  'spec.service.corsPolicy': { routing: 'cors', tested: { istio: ISTIO } },
  'spec.service.meshName': { refused: 'admission', sample: { service: { port: 80, meshName: 'global' } } },
  'spec.service.backends': { refused: 'admission', sample: { service: { port: 80, backends: ['a'] } } },
  'spec.service.apex': { tested: ['test/routers/istio.test.ts', 'src/routers/services.test.ts'] },
  'spec.service.primary': { tested: SERVICES, mentions: "track: 'stable'" },
  'spec.service.canary': { tested: SERVICES, mentions: "track: 'canary'" },
  'spec.analysis.interval': { tested: PLAN },
  'spec.analysis.threshold': { tested: ['src/machine/machine.test.ts'] },
  'spec.analysis.inconclusiveLimit': {
    tested: ['src/machine/machine.test.ts', 'test/controller/inconclusive.test.ts'],
  },
  'spec.analysis.maxWeight': { routing: 'weights', tested: routersWithWeights(), mentions: 'stepWeight' },
  'spec.analysis.stepWeight': { routing: 'weights', tested: routersWithWeights() },
  'spec.analysis.stepWeights': { routing: 'weights', tested: routersWithWeights(), mentions: 'stepWeight' },
  'spec.analysis.stepWeightPromotion': {
    routing: 'weights',
    tested: routersWithWeights(),
    mentions: 'stepWeight',
  },
  // Explicit steps are the plan's; each router only sets the weights they name.
  'spec.analysis.steps': {
    routing: 'steps',
    tested: Object.fromEntries(Object.keys(routersWithWeights()).map((kind) => [kind, PLAN])),
  },
  // A StatefulSet's pods per step: the partition arithmetic, the plan it becomes, end to end.
  'spec.analysis.stepReplicas': {
    tested: [
      'src/targets/partition.test.ts',
      'src/targets/statefulset.test.ts',
      'test/targets/statefulset.test.ts',
    ],
    mentions: 'stepReplicas',
  },
  'spec.analysis.iterations': { tested: PLAN },
  'spec.analysis.match': {
    routing: 'abMatch',
    tested: {
      istio: ['src/routers/match.property.test.ts', 'test/routers/istio.test.ts'],
      gatewayapi: ['src/routers/match.property.test.ts', 'test/routers/gatewayapi.test.ts'],
      nginx: ['src/routers/match.property.test.ts', 'test/routers/nginx.test.ts'],
      contour: [...PROPERTY, ...CONTOUR],
      kuma: [...PROPERTY, ...KUMA],
      apisix: [...PROPERTY, ...APISIX],
      gloo: [...PROPERTY, ...GATEWAY],
      linkerd: [...PROPERTY, ...GW_PROVIDERS],
    },
  },
  'spec.analysis.mirror': { routing: 'mirror', tested: MIRRORS },
  'spec.analysis.mirrorWeight': { routing: 'mirror', tested: MIRRORS },
  'spec.analysis.sessionAffinity': {
    routing: 'sessionAffinity',
    tested: { istio: ISTIO, gatewayapi: ['src/routers/gatewayapi.test.ts'] },
  },
  'spec.analysis.primaryReadyThreshold': { tested: ['src/targets/readiness.test.ts'], mentions: 'threshold' },
  'spec.analysis.canaryReadyThreshold': { tested: ['src/targets/readiness.test.ts'], mentions: 'threshold' },
  'spec.analysis.metrics[].name': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].interval': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].threshold': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].thresholdRange': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].query': { tested: ['test/analysis/prometheus.test.ts'] },
  ...reference(
    'spec.analysis.metrics[].templateRef',
    'test/analysis/prometheus.test.ts',
    (ref) => ({ analysis: { stepWeight: 10, metrics: [{ name: 'x', templateRef: { name: 'x', ...ref } }] } }),
    { apiVersion: 'flagger.app/v1beta1', kind: 'ConfigMap' },
  ),
  'spec.analysis.metrics[].templateVariables': { tested: ['test/analysis/http-providers.test.ts'] },
  'spec.analysis.metrics[].successCondition': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].failureCondition': { tested: ['src/analysis/evaluate.test.ts'] },
  'spec.analysis.metrics[].dryRun': { tested: ['test/analysis/http-providers.test.ts'] },
  'spec.analysis.metrics[].failFast': {
    tested: ['src/controller/judging.test.ts', 'src/machine/machine.test.ts', 'src/replay/engine.test.ts'],
  },
  'spec.analysis.judge': {
    tested: [
      'src/analysis/judge.test.ts',
      'src/controller/judging.test.ts',
      'test/e2e/judge-rollback.test.ts',
      'test/e2e/judge-promote.test.ts',
    ],
  },
  'spec.analysis.checkEvery': {
    tested: ['src/machine/plan.test.ts', 'src/machine/machine.test.ts', 'test/e2e/judge-rollback.test.ts'],
  },
  'spec.analysis.webhooks[].name': { tested: ['src/hooks/webhook.test.ts'] },
  'spec.analysis.webhooks[].type': { tested: ['src/hooks/webhook.test.ts'] },
  'spec.analysis.webhooks[].url': { tested: ['src/hooks/webhook.test.ts'] },
  'spec.analysis.webhooks[].muteAlert': {
    tested: ['src/hooks/webhook.test.ts', 'src/machine/mute-alert.test.ts', 'src/controller/effects.test.ts'],
  },
  'spec.analysis.webhooks[].timeout': { tested: ['test/hooks/webhooks.test.ts'] },
  'spec.analysis.webhooks[].metadata': { tested: ['src/hooks/webhook.test.ts'] },
  'spec.analysis.webhooks[].retries': { tested: ['test/hooks/webhooks.test.ts'] },
  'spec.analysis.webhooks[].insecureSkipVerify': { tested: ['test/hooks/webhooks.test.ts'] },
  'spec.analysis.webhooks[].secretRef': {
    tested: ['src/hooks/webhook.test.ts', 'bench/security/http-checks.ts'],
  },
  'spec.analysis.alerts[].name': { tested: ['test/notify/notifiers.test.ts'], mentions: 'alerts' },
  'spec.analysis.alerts[].severity': { tested: ['test/notify/notifiers.test.ts'] },
  ...reference(
    'spec.analysis.alerts[].providerRef',
    'test/notify/notifiers.test.ts',
    (ref) => ({ analysis: { stepWeight: 10, alerts: [{ name: 'x', providerRef: { name: 'x', ...ref } }] } }),
    { apiVersion: 'v1', kind: 'Secret' },
  ),
  'spec.progressDeadlineSeconds': { tested: ['src/machine/machine.test.ts'] },
  'spec.skipAnalysis': { tested: ['src/machine/machine.test.ts'] },
  'spec.suspend': { tested: ['src/machine/machine.test.ts'] },
  'spec.revertOnDeletion': { tested: ['test/targets/deletion.test.ts'] },
  'status.phase': { tested: ['test/controller/rollout.test.ts'] },
  'status.canaryWeight': { tested: ['test/controller/rollout.test.ts'] },
  'status.failedChecks': { tested: ['test/controller/rollout.test.ts'] },
  'status.iterations': { tested: ['test/e2e/kubernetes-bluegreen.test.ts'] },
  'status.lastAppliedSpec': { tested: ['test/controller/restart.test.ts'] },
  'status.lastPromotedSpec': { tested: ['test/controller/restart.test.ts'] },
  'status.trackedConfigs': { tested: ['test/e2e/configmap-change.test.ts'] },
  'status.lastTransitionTime': { tested: ['src/machine/driver.test.ts'] },
  'status.message': { tested: ['test/controller/invalid.test.ts'] },
  'status.judge': { tested: ['test/e2e/judge-rollback.test.ts', 'src/controller/judging.test.ts'] },
  'status.revisionDetectedAt': { tested: ['test/controller/rollout.test.ts'], mentions: 'lead_time' },
  'status.release': { tested: ['src/controller/reconciler.test.ts', 'test/controller/dora.test.ts'] },
  'status.sessionAffinityCookie': {
    tested: ['src/routers/session.test.ts', 'src/controller/reconciler.test.ts'],
  },
  'status.previousSessionAffinityCookie': {
    tested: ['src/routers/session.test.ts', 'src/controller/reconciler.test.ts'],
  },
  'status.observedGeneration': { tested: ['test/controller/invalid.test.ts'] },
  'status.conditions': { tested: ['test/controller/invalid.test.ts'] },
  'status.machine': { tested: ['src/machine/driver.test.ts', 'test/controller/writes.test.ts'] },
  'status.nextStepAt': { tested: ['src/machine/driver.test.ts'] },
  'status.deadlines': { tested: ['src/machine/driver.test.ts'] },
  'status.lastAnalysis': { tested: ['test/e2e/debugging.test.ts'] },
  'status.lastCommand.id': { tested: ['test/e2e/manual-abort.test.ts'], mentions: 'lastCommand' },
  'status.lastCommand.command': { tested: ['test/e2e/manual-abort.test.ts'], mentions: 'lastCommand' },
  'status.lastCommand.handledAt': { tested: ['test/e2e/manual-abort.test.ts'] },
  'status.lastCommand.result': {
    tested: ['src/controller/command-result.test.ts', 'src/controller/reconciler.test.ts'],
    mentions: 'result',
  },
  'status.heldBy.shard': {
    tested: ['src/controller/reconciler.test.ts', 'test/chaos/handover.test.ts'],
    mentions: 'shard',
  },
  'status.noProgress.since': {
    tested: ['src/controller/reconciler.test.ts', 'test/controller/noprogress.test.ts'],
    mentions: 'noProgress',
  },
  'status.noProgress.reason': {
    tested: ['src/controller/reconciler.test.ts', 'test/controller/noprogress.test.ts'],
    mentions: 'noProgress',
  },
};

export const METRIC_TEMPLATE_FIELDS: Record<string, FieldCoverage> = {
  'spec.provider.type': { tested: ['src/analysis/providers/prometheus.test.ts'], mentions: 'prometheus' },
  'spec.provider.address': { tested: ['test/analysis/prometheus.test.ts'] },
  'spec.provider.secretRef': { tested: ['test/analysis/http-providers.test.ts'] },
  'spec.provider.region': { elsewhere: 'issue 18 (metric providers): cloud providers read it' },
  'spec.provider.insecureSkipVerify': { tested: ['test/analysis/prometheus.test.ts'] },
  'spec.query': { tested: ['test/analysis/prometheus.test.ts'] },
  'spec.web': { tested: ['test/analysis/http-providers.test.ts'] },
  'spec.successCondition': { tested: ['test/analysis/http-providers.test.ts'] },
  'spec.failureCondition': { tested: ['test/analysis/http-providers.test.ts'] },
  status: { gap: 'nothing writes MetricTemplate conditions: no controller reconciles MetricTemplates' },
};

export const ALERT_PROVIDER_FIELDS: Record<string, FieldCoverage> = {
  'spec.type': { tested: ['test/notify/notifiers.test.ts'] },
  'spec.secretRef': { tested: ['test/notify/notifiers.test.ts'] },
  'spec.address': { tested: ['test/notify/notifiers.test.ts'] },
  'spec.channel': { tested: ['src/notify/payloads.test.ts'] },
  'spec.username': { tested: ['src/notify/payloads.test.ts'] },
  'spec.proxy': {
    refused: 'admission',
    sample: { type: 'slack', address: 'https://hooks.test/x', proxy: 'http://proxy:3128' },
  },
  status: { gap: 'nothing writes AlertProvider conditions: no controller reconciles AlertProviders' },
};

/** The routers that have weights: each tests setting them; the plan tests the fields' meaning. */
function routersWithWeights(extra: readonly string[] = PLAN): Partial<Record<RouterKind, readonly string[]>> {
  return {
    istio: [...extra, ...ISTIO],
    gatewayapi: [...extra, ...GATEWAY],
    smi: [...extra, ...SMI],
    nginx: [...extra, ...NGINX_WEIGHTS],
    contour: [...extra, ...CONTOUR],
    traefik: [...extra, ...TRAEFIK],
    kuma: [...extra, ...KUMA],
    apisix: [...extra, ...APISIX],
    gloo: [...extra, ...GW_PROVIDERS],
    skipper: [...extra, ...SKIPPER],
    knative: [...extra, ...KNATIVE],
    linkerd: [...extra, ...GW_PROVIDERS],
  };
}
