import type { BuiltinQuerySetName } from '../builtins.ts';

// The built-in judged metrics per traffic provider, next to (and from the same series as) the
// built-in checks in ../builtins.ts: `errors` is a rate (5xx answers over requests),
// `latency` a distribution (the request-duration histogram). Each query returns a count since
// the judge started: `{{ interval }}` is rendered as the time since then, and `{{ target }}`
// as the canary workload (`<target>`) or the primary (`<target>-primary`). Providers that tell
// the arms apart by another label (ingress-nginx) read it from `{{ variables.arm_selector }}`.
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
  /** Extra template variables per arm, for providers that tell the arms apart by a label. */
  arms?: { canary: Record<string, string>; primary: Record<string, string> };
}

const istioSelector = `reporter="destination",
    destination_workload_namespace="{{ namespace }}",
    destination_workload=~"{{ target }}"`;
const linkerdSelector = `namespace="{{ namespace }}",
    deployment=~"{{ target }}",
    direction="inbound"`;
const nginxSelector = `namespace="{{ namespace }}",
    ingress="{{ ingress }}",
    canary{{ variables.arm_selector }}`;
const appSelector = `namespace="{{ namespace }}",
    pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`;

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
    arms: { canary: { arm_selector: '!=""' }, primary: { arm_selector: '=""' } },
  },
  app: {
    ...counts('http_request_duration_seconds_count', appSelector, 'status=~"5.*"'),
    latencyBuckets: buckets('http_request_duration_seconds_bucket', appSelector),
    latencyScale: 1000,
  },
} as const satisfies Record<BuiltinQuerySetName, JudgeQuerySet>;
