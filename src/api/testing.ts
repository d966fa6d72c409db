import type { Canary, CanaryInput } from './canary.ts';
import { formatIssues, parseCanary } from './validate.ts';

// For tests: a Canary parsed as the controller parses one, from the spec fields a test cares
// about on top of a small valid one (Deployment `web` in `shop`, port 80, stepWeight 10).

export function testCanary(
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
