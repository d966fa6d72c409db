import type { Canary, CanaryInput } from '../../src/api/canary.ts';
import { formatIssues, parseCanary } from '../../src/api/validate.ts';

/**
 * A Canary for unit tests, parsed as the controller parses one: Deployment `web` in
 * namespace `shop`, port 80, 10 % steps. `spec` replaces these defaults field by field;
 * `metadata` adds to the name and namespace; `status` is set when given.
 */
export function canaryWith(
  spec: Partial<CanaryInput['spec']> = {},
  extra: { metadata?: Partial<CanaryInput['metadata']>; status?: Record<string, unknown> } = {},
): Canary {
  const object = {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'web', namespace: 'shop', ...extra.metadata },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: { port: 80 },
      analysis: { stepWeight: 10 },
      ...spec,
    },
    ...(extra.status ? { status: extra.status } : {}),
  };
  const parsed = parseCanary(object);
  if (!parsed.ok) throw new Error(formatIssues(object, parsed.issues));
  return parsed.canary;
}
