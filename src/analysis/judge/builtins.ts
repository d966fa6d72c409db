import type { BuiltinQuerySetName } from '../builtins.ts';

// The built-in judged metrics per traffic provider, next to (and from the same series as) the
// built-in checks in ../builtins.ts: `errors` is a rate (5xx answers over requests),
// `latency` a distribution (the request-duration histogram). Each query returns a count since
// the judge started: `{{ interval }}` is rendered as the time since then, and `{{ target }}`
// as the canary workload (`<target>`) or the primary (`<target>-primary`). Providers that tell
// the arms apart by another label (ingress-nginx), or by the Service a request went to (the
// gateways' upstream clusters: `<service>-canary` or `<service>-primary`), mark where the arm's
// text goes with ARM_MATCHER; that text is Sluice's own, put in before rendering (no user input
// passes through it). A provider whose series cannot tell the arms apart says why instead.
//
// Typed against BUILTIN_QUERY_SETS, so a provider that gains built-in checks must say here
// how the judge reads it.

export interface JudgeQuerySet {
  /** 5xx answers of one workload since the judge started. */
  errors: string;
  /** All answers of one workload since the judge started. */
  requests: string;
  /** The request-duration histogram of one workload: one series per `le`. */
  latencyBuckets: string;
  /** Multiplier from the histogram's `le` unit to milliseconds. */
  latencyScale: number;
  /** The text per arm that stands at ARM_MATCHER: a label matcher, or the arm's part of a Service name. */
  arms?: { canary: string; primary: string };
}

/** A provider with built-in checks whose series cannot tell the canary's answers from the primary's. */
export interface NoJudgeQuerySet {
  unavailable: string;
}

/** The arms as the Services Sluice generates name them (`<service>-canary`, `<service>-primary`). */
const SERVICE_ARMS = { canary: 'canary', primary: 'primary' } as const;

/** Where a provider's per-arm label matcher goes in its selector (see JudgeQuerySet.arms). */
export const ARM_MATCHER = '__SLUICE_ARM_MATCHER__';

const istioSelector = `reporter="destination",
    destination_workload_namespace="{{ namespace }}",
    destination_workload=~"{{ target }}"`;
const linkerdSelector = `namespace="{{ namespace }}",
    deployment=~"{{ target }}",
    direction="inbound"`;
const nginxSelector = `namespace="{{ namespace }}",
    ingress="{{ ingress }}",
    ${ARM_MATCHER}`;
const appSelector = `namespace="{{ namespace }}",
    pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`;

// The gateways' series name the upstream (the Kubernetes Service) a request went to.
const envoyCluster = (pattern: string) => `envoy_cluster_name=~"${pattern}"`;
const contourSelector = envoyCluster(`{{ namespace }}_{{ service }}-${ARM_MATCHER}_[0-9a-zA-Z-]+`);
const kumaSelector = envoyCluster(
  `({{ service }}-${ARM_MATCHER}_{{ namespace }}_svc_[0-9]+|.+_{{ service }}-${ARM_MATCHER}_{{ namespace }}_.*msvc_[0-9]+)`,
);
const glooSelector = envoyCluster(
  `kube_({{ namespace }}_{{ service }}-${ARM_MATCHER}|{{ service }}-${ARM_MATCHER}_{{ namespace }})_[0-9]+`,
);
const traefikSelector = `service=~"{{ namespace }}-{{ service }}-${ARM_MATCHER}-[0-9a-zA-Z-]+@kubernetescrd"`;
const skipperSelector = `route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_${ARM_MATCHER}(_[0-9]+)?"`;

function counts(
  series: string,
  selector: string,
  errorLabel: string,
): Pick<JudgeQuerySet, 'errors' | 'requests'> {
  return {
    errors: `
sum(increase(${series}{
    ${selector},
    ${errorLabel}
}[{{ interval }}]))
or vector(0)`,
    requests: `
sum(increase(${series}{
    ${selector}
}[{{ interval }}]))`,
  };
}

function buckets(series: string, selector: string): string {
  return `
sum by (le) (increase(${series}{
    ${selector}
}[{{ interval }}]))`;
}

/** The Envoy-based gateways (Contour, Kuma, Gloo): answers and times per upstream cluster, in ms. */
function envoyUpstream(selector: string): JudgeQuerySet {
  return {
    ...counts('envoy_cluster_upstream_rq', selector, 'envoy_response_code=~"5.*"'),
    latencyBuckets: buckets('envoy_cluster_upstream_rq_time_bucket', selector),
    latencyScale: 1,
    arms: SERVICE_ARMS,
  };
}

export const JUDGE_QUERY_SETS = {
  istio: {
    ...counts('istio_requests_total', istioSelector, 'response_code=~"5.*"'),
    latencyBuckets: buckets('istio_request_duration_milliseconds_bucket', istioSelector),
    latencyScale: 1,
  },
  linkerd: {
    ...counts('response_total', linkerdSelector, 'classification="failure"'),
    latencyBuckets: buckets('response_latency_ms_bucket', linkerdSelector),
    latencyScale: 1,
  },
  // ingress-nginx labels requests the canary Ingress served with canary="<upstream>", and
  // those of the main Ingress (the primary) with canary="".
  nginx: {
    ...counts('nginx_ingress_controller_requests', nginxSelector, 'status=~"5.*"'),
    latencyBuckets: buckets('nginx_ingress_controller_response_duration_seconds_bucket', nginxSelector),
    latencyScale: 1000,
    arms: { canary: 'canary!=""', primary: 'canary=""' },
  },
  contour: envoyUpstream(contourSelector),
  traefik: {
    ...counts('traefik_service_requests_total', traefikSelector, 'code=~"5.."'),
    latencyBuckets: buckets('traefik_service_request_duration_seconds_bucket', traefikSelector),
    latencyScale: 1000,
    arms: SERVICE_ARMS,
  },
  kuma: envoyUpstream(kumaSelector),
  gloo: envoyUpstream(glooSelector),
  // Skipper's route ids end in the backend Service, '-' written as '_'.
  skipper: {
    ...counts('skipper_serve_route_duration_seconds_count', skipperSelector, 'code=~"5.."'),
    latencyBuckets: buckets('skipper_serve_route_duration_seconds_bucket', skipperSelector),
    latencyScale: 1000,
    arms: SERVICE_ARMS,
  },
  // APISIX's prometheus plugin labels a request with its route, and both arms are backends of
  // the one canary route.
  apisix: {
    unavailable:
      "APISIX's series (apisix_http_status, apisix_http_latency) label a request by route, and the primary and canary are two backends of one route: use custom judged metrics",
  },
  app: {
    ...counts('http_request_duration_seconds_count', appSelector, 'status=~"5.*"'),
    latencyBuckets: buckets('http_request_duration_seconds_bucket', appSelector),
    latencyScale: 1000,
  },
} as const satisfies Record<BuiltinQuerySetName, JudgeQuerySet | NoJudgeQuerySet>;
