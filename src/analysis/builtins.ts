// The built-in metrics, per traffic provider: request-success-rate (percentage of non-5xx
// responses, 0–100) and request-duration (p99 in milliseconds). Each query is a template
// with the MetricTemplate variables and is documented verbatim in docs/metrics.md.
//
// Success rates put `or vector(0)` on the numerator: when every request in the window
// failed there is no non-5xx series at all, and without it the result would be "no
// values" instead of 0 %. With no traffic the denominator is empty (no values) or 0 (NaN):
// both are failed checks.

import { BUILTIN_METRICS, type BuiltinMetric } from '../api/canary.ts';

// The names are the API's (one list, src/api/canary.ts); the queries per provider are here.
export { BUILTIN_METRICS, type BuiltinMetric };

export interface BuiltinQuerySet {
  /** Spec.provider values (Flagger's spellings) that use these queries. */
  providers: readonly string[];
  /** The series the mesh / controller / app must export, for the docs and error messages. */
  requires: string;
  queries: Record<BuiltinMetric, string>;
  /** The success rate of gRPC calls (spec.service.protocol: grpc), by their gRPC status. */
  grpc?: { requires: string; 'request-success-rate': string };
  /**
   * The labels that carry `{{ namespace }}` and `{{ target }}` as whole values, for sets whose
   * checks can share one query split by label (batch.ts); unset where the target sits inside a
   * longer regex (cluster, route and pod names).
   */
  batchBy?: { namespace: string; target: string };
}

/**
 * gRPC statuses that count as the server failing, as 5xx do for HTTP: Unknown, DeadlineExceeded,
 * Unimplemented, Internal, Unavailable and DataLoss (codes 2, 4, 12, 13, 14, 15). The others
 * (NotFound, InvalidArgument, …) are answers about the call, like 4xx.
 */
export const GRPC_SERVER_ERRORS = {
  names: 'Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss',
  codes: '2|4|12|13|14|15',
} as const;

/** Label matchers, one a line, at `indent` spaces. */
const matchers = (labels: readonly string[], indent: number) =>
  labels.map((label) => `${' '.repeat(indent)}${label}`).join(',\n');

/**
 * The success rate in percent from the request counter `requests`: the series the `selector`
 * matchers pick that `notServerError` also matches, over all of them.
 */
function successRate(requests: string, selector: readonly string[], notServerError: string): string {
  return `
(
  sum(rate(${requests}{
${matchers([...selector, notServerError], 4)}
  }[{{ interval }}]))
  or vector(0)
)
/
sum(rate(${requests}{
${matchers(selector, 2)}
}[{{ interval }}]))
* 100`;
}

/** The p99 in milliseconds from the duration histogram `buckets` (`seconds`: it counts seconds). */
function p99(buckets: string, selector: readonly string[], seconds: boolean): string {
  return `
histogram_quantile(0.99,
  sum by (le) (rate(${buckets}{
${matchers(selector, 4)}
  }[{{ interval }}]))
)${seconds ? '\n* 1000' : ''}`;
}

/** Success rate and p99 from a request counter and a duration histogram that `selector` picks alike. */
function counterAndHistogram(series: {
  requests: string;
  buckets: string;
  selector: readonly string[];
  notServerError: string;
  seconds: boolean;
}): Record<BuiltinMetric, string> {
  const { requests, buckets, selector, notServerError, seconds } = series;
  return {
    'request-success-rate': successRate(requests, selector, notServerError),
    'request-duration': p99(buckets, selector, seconds),
  };
}

/** Istio's sidecar metrics of the target's pods, as the destination reports them. */
const ISTIO_DESTINATION = [
  'reporter="destination"',
  'destination_workload_namespace="{{ namespace }}"',
  'destination_workload=~"{{ target }}"',
];
/** The target's pods, by the labels Prometheus' Kubernetes discovery attaches. */
const TARGET_PODS = ['namespace="{{ namespace }}"', 'pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'];
const APISIX_CANARY_ROUTE = 'route=~"{{ namespace }}_{{ route }}-{{ service }}-canary_.+"';

/** The Envoy-based gateways (Contour, Kuma, Gloo): the upstream cluster(s) named by `cluster` (a regex). */
const envoyUpstreamQueries = (cluster: string) =>
  counterAndHistogram({
    requests: 'envoy_cluster_upstream_rq',
    buckets: 'envoy_cluster_upstream_rq_time_bucket',
    selector: [`envoy_cluster_name=~"${cluster}"`],
    notServerError: 'envoy_response_code!~"5.*"',
    seconds: false,
  });

export const BUILTIN_QUERY_SETS = {
  istio: {
    providers: ['istio'],
    batchBy: { namespace: 'destination_workload_namespace', target: 'destination_workload' },
    requires:
      'istio_requests_total and istio_request_duration_milliseconds_bucket from the sidecars (reporter="destination")',
    queries: counterAndHistogram({
      requests: 'istio_requests_total',
      buckets: 'istio_request_duration_milliseconds_bucket',
      selector: ISTIO_DESTINATION,
      notServerError: 'response_code!~"5.*"',
      seconds: false,
    }),
    grpc: {
      requires: 'istio_requests_total with grpc_response_status from the sidecars (reporter="destination")',
      'request-success-rate': successRate(
        'istio_requests_total',
        [...ISTIO_DESTINATION, 'request_protocol="grpc"'],
        `grpc_response_status!~"${GRPC_SERVER_ERRORS.codes}"`,
      ),
    },
  },
  linkerd: {
    providers: ['linkerd', 'smi', 'smi:v1alpha1', 'smi:v1alpha2', 'smi:v1alpha3'],
    batchBy: { namespace: 'namespace', target: 'deployment' },
    requires: 'response_total and response_latency_ms_bucket from the Linkerd proxies (direction="inbound")',
    queries: counterAndHistogram({
      requests: 'response_total',
      buckets: 'response_latency_ms_bucket',
      selector: ['namespace="{{ namespace }}"', 'deployment=~"{{ target }}"', 'direction="inbound"'],
      notServerError: 'classification!="failure"',
      seconds: false,
    }),
  },
  nginx: {
    providers: ['nginx'],
    requires:
      'nginx_ingress_controller_requests and nginx_ingress_controller_response_duration_seconds_bucket from ingress-nginx (canary traffic has canary!="")',
    queries: counterAndHistogram({
      requests: 'nginx_ingress_controller_requests',
      buckets: 'nginx_ingress_controller_response_duration_seconds_bucket',
      selector: ['namespace="{{ namespace }}"', 'ingress="{{ ingress }}"', 'canary!=""'],
      notServerError: 'status!~"5.*"',
      seconds: true,
    }),
  },
  contour: {
    providers: ['contour'],
    requires:
      "envoy_cluster_upstream_rq and envoy_cluster_upstream_rq_time_bucket from Contour's Envoy (cluster <namespace>_<service>-canary_<port>)",
    queries: envoyUpstreamQueries('{{ namespace }}_{{ service }}-canary_[0-9a-zA-Z-]+'),
  },
  traefik: {
    providers: ['traefik'],
    requires:
      'traefik_service_requests_total and traefik_service_request_duration_seconds_bucket from Traefik (service <namespace>-<service>-canary-<port>@kubernetescrd)',
    queries: counterAndHistogram({
      requests: 'traefik_service_requests_total',
      buckets: 'traefik_service_request_duration_seconds_bucket',
      selector: ['service=~"{{ namespace }}-{{ service }}-canary-[0-9a-zA-Z-]+@kubernetescrd"'],
      notServerError: 'code!~"5.."',
      seconds: true,
    }),
  },
  kuma: {
    providers: ['kuma'],
    requires:
      "envoy_cluster_upstream_rq and envoy_cluster_upstream_rq_time_bucket from Kuma's data plane proxies (cluster <service>-canary_<namespace>_svc_<port>, or the MeshService cluster of Kuma 2.9+)",
    queries: envoyUpstreamQueries(
      '({{ service }}-canary_{{ namespace }}_svc_[0-9]+|.+_{{ service }}-canary_{{ namespace }}_.*msvc_[0-9]+)',
    ),
  },
  apisix: {
    providers: ['apisix'],
    requires:
      "apisix_http_status and apisix_http_latency_bucket from APISIX's prometheus plugin (route <namespace>_<route>-<service>-canary_<rule>)",
    queries: {
      'request-success-rate': successRate('apisix_http_status', [APISIX_CANARY_ROUTE], 'code!~"5.."'),
      'request-duration': p99('apisix_http_latency_bucket', ['type="request"', APISIX_CANARY_ROUTE], false),
    },
  },
  gloo: {
    providers: ['gloo'],
    requires:
      "envoy_cluster_upstream_rq and envoy_cluster_upstream_rq_time_bucket from Gloo Gateway's Envoy (Kubernetes Service clusters kube_…_<service>-canary_…)",
    queries: envoyUpstreamQueries(
      'kube_({{ namespace }}_{{ service }}-canary|{{ service }}-canary_{{ namespace }})_[0-9]+',
    ),
  },
  skipper: {
    providers: ['skipper'],
    requires:
      "skipper_serve_route_duration_seconds from Skipper (route ids of the canary Ingress: kube_<namespace>__<ingress>_canary__…__<service>_canary, names with '-' written as '_')",
    queries: counterAndHistogram({
      requests: 'skipper_serve_route_duration_seconds_count',
      buckets: 'skipper_serve_route_duration_seconds_bucket',
      selector: [
        'route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?"',
      ],
      notServerError: 'code!~"5.."',
      seconds: true,
    }),
  },
  // Gateway API and plain Kubernetes have no mesh telemetry: the app's own histogram
  // http_request_duration_seconds{status} (as podinfo and most HTTP middlewares export
  // it), with the namespace and pod labels Prometheus' Kubernetes discovery attaches.
  app: {
    providers: ['kubernetes', 'gatewayapi', 'gatewayapi:v1'],
    requires:
      "the app's own http_request_duration_seconds histogram with a status label, scraped with namespace and pod labels",
    queries: counterAndHistogram({
      requests: 'http_request_duration_seconds_count',
      buckets: 'http_request_duration_seconds_bucket',
      selector: TARGET_PODS,
      notServerError: 'status!~"5.*"',
      seconds: true,
    }),
    grpc: {
      requires:
        "the app's own grpc_server_handled_total{grpc_code} (go-grpc-prometheus and most gRPC middlewares), scraped with namespace and pod labels",
      'request-success-rate': successRate(
        'grpc_server_handled_total',
        TARGET_PODS,
        `grpc_code!~"${GRPC_SERVER_ERRORS.names}"`,
      ),
    },
  },
} as const satisfies Record<string, BuiltinQuerySet>;

export type BuiltinQuerySetName = keyof typeof BUILTIN_QUERY_SETS;

/** Like Flagger, a Canary without spec.provider is an Istio canary. */
export const DEFAULT_BUILTIN_PROVIDER = 'istio';

export function isBuiltinMetric(name: string): name is BuiltinMetric {
  return (BUILTIN_METRICS as readonly string[]).includes(name);
}

/** The query set for a Canary's spec.provider, or undefined when it has none. */
export function builtinQuerySet(provider: string | undefined): BuiltinQuerySetName | undefined {
  const wanted = provider || DEFAULT_BUILTIN_PROVIDER;
  for (const [name, set] of Object.entries(BUILTIN_QUERY_SETS)) {
    if ((set.providers as readonly string[]).includes(wanted)) return name as BuiltinQuerySetName;
  }
  return undefined;
}

/** Every provider spelling that has built-in metrics. */
export function builtinProviders(): string[] {
  return Object.values(BUILTIN_QUERY_SETS).flatMap((set) => [...set.providers]);
}

/**
 * The query template of a built-in metric for a provider (and, for gRPC routes, the
 * protocol: the success rate is then by gRPC status); throws an error naming both when the
 * provider has no such built-in metric.
 */
export function builtinQuery(
  provider: string | undefined,
  metric: BuiltinMetric,
  protocol: string = 'http',
): string {
  const set = builtinQuerySet(provider);
  if (!set) {
    throw new Error(
      `provider "${provider}" has no built-in ${metric} metric; use one of ${builtinProviders().join(', ')}, or a MetricTemplate`,
    );
  }
  const queries: BuiltinQuerySet = BUILTIN_QUERY_SETS[set];
  if (protocol === 'grpc' && metric === 'request-success-rate') {
    if (!queries.grpc) {
      throw new Error(
        `provider "${provider}" has no built-in gRPC ${metric} metric (spec.service.protocol: grpc); use a MetricTemplate`,
      );
    }
    return queries.grpc[metric].trim();
  }
  return queries.queries[metric].trim();
}
