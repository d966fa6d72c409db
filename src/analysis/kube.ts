import { z } from 'zod';
import { apiErrorMessage, isNotFound, type Kube } from '../kube/client.ts';
import type { AnalysisDeps, TemplateRef } from './evaluate.ts';
import { resolveProviderSecret } from './providers/secret.ts';
import type { MetricTemplate } from './types.ts';

// The analysis' Kubernetes lookups, for callers without an informer cache (the CLI, tests):
// MetricTemplates from the API and provider Secrets. The shape check here covers only the
// fields the analysis reads; full validation belongs to src/api.

const metricTemplateSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z.object({
    provider: z
      .object({
        type: z.string().optional(),
        address: z.string().optional(),
        secretRef: z.object({ name: z.string() }).optional(),
        insecureSkipVerify: z.boolean().optional(),
        method: z.string().optional(),
        body: z.string().optional(),
      })
      .optional(),
    query: z.string().optional(),
  }),
});

export function parseMetricTemplate(object: unknown, label: string): MetricTemplate {
  const parsed = metricTemplateSchema.safeParse(object);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${label}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export async function readMetricTemplate(
  kube: Pick<Kube, 'custom'>,
  ref: TemplateRef,
): Promise<MetricTemplate | undefined> {
  const label = `MetricTemplate ${ref.namespace}/${ref.name}`;
  try {
    const object: unknown = await kube.custom.getNamespacedCustomObject({
      group: 'sluice.dev',
      version: 'v1alpha1',
      namespace: ref.namespace,
      plural: 'metrictemplates',
      name: ref.name,
    });
    return parseMetricTemplate(object, label);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`${label} could not be read: ${apiErrorMessage(error)}`, { cause: error });
  }
}

/** getTemplate and getCredentials backed by the Kubernetes API. */
export function kubeLookups(
  kube: Pick<Kube, 'custom' | 'core'>,
): Pick<AnalysisDeps, 'getTemplate' | 'getCredentials'> {
  return {
    getTemplate: (ref) => readMetricTemplate(kube, ref),
    getCredentials: (namespace, secretRef) => resolveProviderSecret(kube, namespace, secretRef),
  };
}
