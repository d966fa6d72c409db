import { apiErrorMessage, statusCode } from '../../kube/client.ts';
import type { WireObjectApi } from '../../kube/wire.ts';
import { MetricError, type OnlineStatus } from './provider.ts';

// What the providers that read from the Kubernetes API share (keptn, externalmetrics).

/** A Kubernetes API error as a MetricError naming the provider and the query. */
export function kubeMetricError(error: unknown, provider: string, query: string, what: string): MetricError {
  if (error instanceof MetricError) return error;
  const status = statusCode(error);
  const detail = apiErrorMessage(error);
  const base = { provider, query, cause: error, ...(status === undefined ? {} : { status }) };
  if (status === 401 || status === 403) {
    return new MetricError('auth', {
      ...base,
      message: `${provider}: ${what} was refused (HTTP ${status}): ${detail}`,
    });
  }
  if (status === 404) {
    return new MetricError('noData', {
      ...base,
      message: `${provider}: ${what} not found: ${detail}: ${query}`,
    });
  }
  if (status === 400 || status === 422) {
    return new MetricError('query', {
      ...base,
      message: `${provider}: ${what} rejected (HTTP ${status}): ${detail}: ${query}`,
    });
  }
  return new MetricError('http', {
    ...base,
    message: `${provider}: ${what} failed (${status === undefined ? detail : `HTTP ${status}: ${detail}`}): ${query}`,
  });
}

/** Online when the API group is served: its discovery document answers. */
export async function apiGroupOnline(
  api: Pick<WireObjectApi, 'apiResources'>,
  target: { group: string; version: string; provider: string },
): Promise<OnlineStatus> {
  const query = `GET /apis/${target.group}/${target.version}`;
  try {
    await api.apiResources(target.group, target.version);
    return { online: true };
  } catch (error) {
    return {
      online: false,
      error: kubeMetricError(error, target.provider, query, `the ${target.group} API`),
    };
  }
}
