import type { Deployment } from '../../src/kube/kinds.ts';

/**
 * Deployment `web` in namespace `shop` for unit tests, with `replicas` wanted, at
 * `generation`, and `status` (observedGeneration defaults to `generation`).
 */
export function deploymentWith(
  status: NonNullable<Deployment['status']>,
  replicas = 3,
  generation = 2,
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', generation },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { containers: [{ name: 'app' }] } },
    },
    status: { observedGeneration: generation, ...status },
  };
}
