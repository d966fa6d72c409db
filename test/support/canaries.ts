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

/** The printer columns `kubectl get canaries` shows (after NAME), in order. */
export const CANARY_COLUMNS = [
  'Status',
  'Weight',
  'FailedChecks',
  'Interval',
  'Mirror',
  'StepWeight',
  'MaxWeight',
  'LastTransitionTime',
];

/** A Canary as a person writes it (not parsed): `name` targets Deployment `name`, port 9898. */
export function canaryObject(namespace: string, spec: Record<string, unknown>, name = 'podinfo') {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      service: { port: 9898 },
      ...spec,
    },
  };
}

/** The Canary the replay tests replay: one 50 % step, then two analyses, 10 s apart. */
export function replayCanaryObject(
  namespace: string,
  metricsServer: string,
  analysis: Record<string, unknown>,
  spec: Record<string, unknown> = {},
) {
  return canaryObject(namespace, {
    ...spec,
    metricsServer,
    analysis: {
      interval: '10s',
      steps: [{ setWeight: 50 }, { analysis: {} }, { analysis: {} }],
      ...analysis,
    },
  });
}

/** A webhook payload as Sluice sends it for canary team-a/podinfo, Progressing (metadata only when given). */
export function hookPayload(metadata?: Record<string, string>) {
  return {
    name: 'podinfo',
    namespace: 'team-a',
    phase: 'Progressing',
    checksum: 'abc',
    ...(metadata ? { metadata } : {}),
  };
}
