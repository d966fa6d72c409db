import { parseMetricTemplate } from '../api/validate.ts';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { AnalysisDeps, TemplateRef } from './evaluate.ts';
import { resolveProviderSecret } from './providers/secret.ts';
import type { MetricTemplate } from './types.ts';

// The analysis' Kubernetes lookups, for callers without an informer cache (the CLI, tests):
// MetricTemplates from the API (validated with src/api's schema) and provider Secrets.

/** Parses a MetricTemplate with the API's schema; the error names the object and the field. */
export function toMetricTemplate(object: unknown, label: string): MetricTemplate {
  const parsed = parseMetricTemplate(object);
  if (!parsed.ok) {
    const problems = parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    throw new Error(`${label} is invalid: ${problems}`);
  }
  return parsed.metricTemplate;
}

export async function readMetricTemplate(
  kube: Pick<Kube, 'wire'>,
  ref: TemplateRef,
): Promise<MetricTemplate | undefined> {
  const label = `MetricTemplate ${ref.namespace}/${ref.name}`;
  try {
    const object: unknown = await kube.wire.readResource(
      { group: 'sluice.dev', version: 'v1alpha1', namespace: ref.namespace, plural: 'metrictemplates' },
      ref.name,
    );
    return toMetricTemplate(object, label);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`${label} could not be read: ${apiErrorMessage(error)}`, { cause: error });
  }
}

/** getTemplate and getCredentials backed by the Kubernetes API, and the API for keptn/externalmetrics. */
export function kubeLookups(
  kube: Pick<Kube, 'wire' | 'kc'>,
): Pick<AnalysisDeps, 'getTemplate' | 'getCredentials' | 'cluster'> {
  return {
    cluster: kube.kc,
    getTemplate: (ref) => readMetricTemplate(kube, ref),
    getCredentials: (namespace, secretRef) => resolveProviderSecret(kube, namespace, secretRef),
  };
}
