import type { Canary, CanaryInput } from '../../src/api/canary.ts';
import { parseCanary } from '../../src/api/validate.ts';

/**
 * A Canary for unit tests, parsed as the controller parses one: Deployment `web` in
 * namespace `shop`, port 80, 10 % steps. `spec` replaces these defaults field by field;
 * `status` and `uid` are set when given.
 */
export function canaryWith(
  spec: Partial<CanaryInput['spec']> = {},
  more: { status?: Record<string, unknown>; uid?: string } = {},
): Canary {
  const parsed = parseCanary({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'web', namespace: 'shop', ...(more.uid ? { uid: more.uid } : {}) },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: { port: 80 },
      analysis: { stepWeight: 10 },
      ...spec,
    },
    ...(more.status ? { status: more.status } : {}),
  });
  if (!parsed.ok) throw new Error(`canaryWith: ${JSON.stringify(parsed.issues)}`);
  return parsed.canary;
}
