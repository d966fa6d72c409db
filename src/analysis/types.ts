// The smallest shapes the analysis needs from the Canary and MetricTemplate, in Flagger's
// field names. The zod-inferred types of src/api are structurally assignable to these, so
// the controller passes its parsed objects straight in.

import type { StatefulSetArms } from './template.ts';
import type { Canary as ApiCanary, CanaryMetric as ApiCanaryMetric } from '../api/canary.ts';
import type { MetricTemplate as ApiMetricTemplate } from '../api/metric-template.ts';

/** MetricTemplate `spec.provider`. */
export interface MetricTemplateProvider {
  /** A kind of src/api/metric-providers.ts; default `prometheus`. */
  type?: string;
  /** HTTP(S) address of the metrics server (for `web`, the URL when `spec.web.url` is unset). */
  address?: string;
  /** Secret in the MetricTemplate's namespace with the credentials. */
  secretRef?: { name: string };
  insecureSkipVerify?: boolean;
  /** AWS region (cloudwatch). */
  region?: string;
}

/** MetricTemplate `spec.web` (Sluice): how the web provider calls a JSON HTTP API. */
export interface WebQuery {
  /** Request URL, a template; defaults to `spec.provider.address`. */
  url?: string;
  method?: 'GET' | 'POST';
  /** Header values are templates; credentials belong in the Secret. */
  headers?: Record<string, string>;
  /** Request body for POST, a template. */
  body?: string;
  /** JSONPath of the number(s) in the answer, e.g. `$.data.value`. */
  jsonPath: string;
  /** Request timeout (Go duration); defaults to the analysis query timeout. */
  timeout?: string;
}

/** A MetricTemplate, as the controller reads it. */
export interface MetricTemplate {
  metadata: { name: string; namespace?: string };
  spec: {
    provider?: MetricTemplateProvider;
    /** The query template (PromQL, Datadog query); unused by `web`. */
    query?: string;
    web?: WebQuery;
    /** Defaults for metrics using this template that set no condition of their own. */
    successCondition?: string;
    failureCondition?: string;
  };
}

/** Canary `spec.analysis.metrics[]`: Flagger's fields plus Sluice's conditions and dryRun. */
export interface MetricCheck {
  name: string;
  /** PromQL range window and provider lookback; default `1m`. */
  interval?: string;
  /** Deprecated in Flagger: the minimum for request-success-rate, the maximum otherwise. */
  threshold?: number;
  thresholdRange?: { min?: number; max?: number };
  /** Inline PromQL against the Canary's metricsServer. */
  query?: string;
  templateRef?: { name: string; namespace?: string };
  templateVariables?: Record<string, string>;
  /** CEL: the check passes only when this is true. */
  successCondition?: string;
  /** CEL: the check fails when this is true. */
  failureCondition?: string;
  /** Evaluated and reported, never fails the analysis. */
  dryRun?: boolean;
}

/** What the analysis needs to know about the Canary it runs for. */
export interface CanaryContext {
  name: string;
  namespace: string;
  /** `spec.targetRef.name`: the Deployment whose pods serve the canary traffic. */
  target: string;
  /** `spec.service.name`; defaults to the target name. */
  service?: string;
  /** `spec.ingressRef.name`; defaults to the target name. */
  ingress?: string;
  /** `spec.routeRef.name` (Flagger's `route` variable); defaults to the target name. */
  route?: string;
  /** `spec.provider`: selects the built-in queries (default istio). */
  provider?: string;
  /** `spec.service.protocol`: grpc makes the built-in success rate one by gRPC status. */
  protocol?: string;
  /** `spec.metricsServer`: Prometheus for built-in and inline queries. */
  metricsServer?: string;
  /**
   * A StatefulSet canary's pods by revision (`{{ canaryPods }}` …); `arm` is the pods of the arm
   * a judged query measures (`{{ pods }}`), the canary's when unset.
   */
  statefulSet?: StatefulSetArms & { arm?: string };
}

// Compile-time proof that the API's parsed objects fit these shapes unchanged.
type Fits<Actual, Expected> = Actual extends Expected ? true : never;
export const API_SHAPES_FIT: [
  Fits<ApiCanaryMetric, MetricCheck>,
  Fits<ApiMetricTemplate, MetricTemplate>,
  Fits<ApiCanary, Parameters<typeof canaryContext>[0]>,
] = [true, true, true];

/** The analysis' view of a parsed Canary, with Flagger's defaults for the model variables. */
export function canaryContext(canary: {
  metadata: { name: string; namespace?: string };
  spec: {
    provider?: string;
    metricsServer?: string;
    targetRef: { name: string };
    service?: { name?: string; protocol?: string };
    ingressRef?: { name: string };
    routeRef?: { name: string };
  };
}): CanaryContext {
  const { spec } = canary;
  const target = spec.targetRef.name;
  return {
    name: canary.metadata.name,
    namespace: canary.metadata.namespace ?? 'default',
    target,
    service: spec.service?.name || target,
    ingress: spec.ingressRef?.name || target,
    route: spec.routeRef?.name || target,
    ...(spec.provider ? { provider: spec.provider } : {}),
    ...(spec.service?.protocol ? { protocol: spec.service.protocol } : {}),
    ...(spec.metricsServer ? { metricsServer: spec.metricsServer } : {}),
  };
}
