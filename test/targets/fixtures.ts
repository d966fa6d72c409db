import { HttpMethod } from '@kubernetes/client-node';
import type { Canary, CanaryInput } from '../../src/api/canary.ts';
import { parseCanary } from '../../src/api/validate.ts';
import type { Kube } from '../../src/kube/client.ts';
import { routerFor } from '../../src/routers/factory.ts';
import type { Router } from '../../src/routers/router.ts';
import { targetFor } from '../../src/targets/factory.ts';
import type { JsonObject } from '../../src/kube/kinds.ts';
import { applyObject, getObject, type DesiredObject } from '../../src/kube/objects.ts';
import type { Target, TargetDeps } from '../../src/targets/target.ts';
import { eventually } from '../support/kube.ts';

// Shared setup for the target and router integration tests: a Deployment like a team
// would write, a Canary parsed by src/api, and Sluice's target and router for it.

export const APP = 'podinfo';
export const PORT = 9898;

export interface DeploymentOptions {
  name?: string;
  replicas?: number;
  image?: string;
  labels?: Record<string, string>;
  podSpec?: JsonObject;
  fieldManager?: string;
}

/** The Deployment manifest a team would keep in Git. */
export function deploymentManifest(namespace: string, options: DeploymentOptions = {}): DesiredObject {
  const name = options.name ?? APP;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: { app: name, team: 'checkout' },
      annotations: { 'example.com/owner': 'checkout' },
    },
    spec: {
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name, ...options.labels },
          annotations: { 'prometheus.io/scrape': 'true' },
        },
        spec: {
          containers: [
            {
              name: 'app',
              image: options.image ?? 'ghcr.io/stefanprodan/podinfo:6.0.0',
              ports: [{ name: 'http', containerPort: PORT }],
            },
          ],
          ...options.podSpec,
        },
      },
    },
  };
}

/**
 * Creates the target Deployment the way `kubectl create`/`kubectl apply` (client-side)
 * does: an Update by an imperative field manager, so Sluice may scale it.
 */
export async function applyDeployment(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  options: DeploymentOptions = {},
) {
  if (options.fieldManager) {
    // A declarative owner (server-side apply), e.g. a GitOps reconciler.
    return applyObject(kube, deploymentManifest(namespace, options), {
      fieldManager: options.fieldManager,
      force: true,
    });
  }
  const manifest = deploymentManifest(namespace, options);
  const path = await kube.wire.pathOf(manifest as never, true);
  return kube.wire.request<JsonObject>(HttpMethod.POST, path, {
    body: manifest,
    query: { fieldManager: 'kubectl-client-side-apply' },
  });
}

export function canaryFor(namespace: string, spec: Partial<CanaryInput['spec']> = {}, name = APP): Canary {
  const input: CanaryInput = {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace, uid: `uid-${name}-${namespace}` },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP },
      service: { port: PORT, targetPort: 'http' },
      analysis: { interval: '10s', stepWeight: 10, maxWeight: 50 },
      ...spec,
    },
  };
  const parsed = parseCanary(input);
  if (!parsed.ok) throw new Error(`test Canary is invalid: ${JSON.stringify(parsed.issues)}`);
  return parsed.canary;
}

/** A Canary `name` with the kubernetes provider for the Deployment of the same name. */
export function kubernetesCanaryFor(namespace: string, name: string): Canary {
  return canaryFor(
    namespace,
    { provider: 'kubernetes', targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name } },
    name,
  );
}

export interface Sluice {
  target: Target;
  router: Router;
}

export function sluiceFor(canary: Canary, kube: Pick<Kube, 'wire'>, deps: Partial<TargetDeps> = {}): Sluice {
  const target = targetFor(canary, { kube, ...deps });
  const router = routerFor(canary, { kube, events: deps.events, targetPods: (c) => target.pods(c) });
  return { target, router };
}

/** Bootstraps until done: primary ready and target scaled to zero. */
export async function bootstrap(canary: Canary, sluice: Sluice) {
  const result = await eventually(
    'bootstrap done',
    async () => {
      const step = await sluice.target.bootstrap(canary);
      return step.done ? step : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await sluice.router.reconcile(canary);
  return result;
}

/** Reads any object as the apiserver holds it (throws when absent). */
export async function read(
  kube: Pick<Kube, 'wire'>,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
) {
  const object = await getObject(kube, { apiVersion, kind, metadata: { name, namespace } });
  if (!object) throw new Error(`${kind} ${namespace}/${name} does not exist`);
  return object as JsonObject & {
    metadata: {
      annotations?: Record<string, string>;
      labels?: Record<string, string>;
      resourceVersion?: string;
    };
    spec: JsonObject & Record<string, unknown>;
  };
}

export async function exists(
  kube: Pick<Kube, 'wire'>,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
) {
  return (await getObject(kube, { apiVersion, kind, metadata: { name, namespace } })) !== undefined;
}

/** A new release of the target: a new image, patched in by kubectl (an imperative update). */
export async function release(kube: Pick<Kube, 'wire'>, namespace: string, image: string, name = APP) {
  return kube.wire.mergePatchObject(
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace } },
    {
      spec: {
        template: {
          spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: PORT }] }] },
        },
      },
    },
    { fieldManager: 'kubectl-client-side-apply' },
  );
}

/** The analysis-time part of a promotion the machine drives: scale up, ready, copy, route back, scale down. */
export async function promote(canary: Canary, sluice: Sluice) {
  await sluice.target.scaleCanary(canary, 'up');
  await eventually(
    'canary ready',
    async () => (await sluice.target.readiness(canary)).canary.state === 'ready',
    {
      timeoutMs: 60_000,
    },
  );
  const revision = await sluice.target.revision(canary);
  const promoted = await sluice.target.promote(canary, { revision: revision.revision });
  await eventually(
    'primary ready',
    async () => (await sluice.target.readiness(canary)).primary.state === 'ready',
    {
      timeoutMs: 60_000,
    },
  );
  return { revision, promoted };
}

/** Applies a ConfigMap or Secret as a person would (field manager kubectl). */
export function applyConfig(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  kind: 'ConfigMap' | 'Secret',
  metadata: { name: string; annotations?: Record<string, string> },
  content: Record<string, unknown>,
) {
  return applyObject(
    kube,
    { apiVersion: 'v1', kind, metadata: { ...metadata, namespace }, ...content },
    { fieldManager: 'kubectl' },
  );
}
