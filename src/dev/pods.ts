// What the local runtime needs to know about a pod: whether it is a demo workload,
// whether it is Ready, which workload owns it, and the environment its first container
// would get in a real cluster. Pure except for the ConfigMap/Secret lookups passed in.

import { z } from 'zod';

/** Pod-template label that marks a Deployment's pods as demo workloads the runtime runs. */
export const DEMO_APP_LABEL = 'demo.sluice.dev/app';

const keyRef = z.looseObject({
  name: z.string().optional(),
  key: z.string(),
  optional: z.boolean().optional(),
});
const envVarSchema = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .looseObject({
      configMapKeyRef: keyRef.optional(),
      secretKeyRef: keyRef.optional(),
      fieldRef: z.looseObject({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
const sourceRef = z.looseObject({ name: z.string().optional(), optional: z.boolean().optional() });
const envFromSchema = z.looseObject({
  prefix: z.string().optional(),
  configMapRef: sourceRef.optional(),
  secretRef: sourceRef.optional(),
});

export const podSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    ownerReferences: z
      .array(z.looseObject({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
      .optional(),
  }),
  spec: z.looseObject({
    containers: z
      .array(
        z.looseObject({
          name: z.string(),
          image: z.string().optional(),
          env: z.array(envVarSchema).optional(),
          envFrom: z.array(envFromSchema).optional(),
        }),
      )
      .min(1),
    nodeName: z.string().optional(),
    serviceAccountName: z.string().optional(),
  }),
  status: z
    .looseObject({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      hostIP: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});
export type Pod = z.infer<typeof podSchema>;

export function isDemoPod(pod: Pod): boolean {
  return pod.metadata.labels?.[DEMO_APP_LABEL] === 'true';
}

/** Running, Ready and not being deleted: the pods a real kubelet would have serving. */
export function podServing(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The workload a pod belongs to, named the way Istio names `destination_workload`: a
 * ReplicaSet's pods belong to its Deployment (the ReplicaSet name minus the
 * pod-template-hash), other controllers' pods to the controller, bare pods to themselves.
 */
export function workloadOf(pod: Pod): string {
  const owner =
    pod.metadata.ownerReferences?.find((ref) => ref.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return pod.metadata.name;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet') {
    if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
    return owner.name.replace(/-[a-z0-9]{5,10}$/, '');
  }
  if (owner.kind === 'Job') return owner.name.replace(/-\d+$/, '');
  return owner.name;
}

/** The tag of an image reference (`ghcr.io/x/podinfo:6.1.0` → `6.1.0`), if it has one. */
export function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : undefined;
}

/** Reads ConfigMap and Secret data (Secret values already decoded); undefined when absent. */
export interface ConfigLookup {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/**
 * A reference the kubelet could not resolve either (it would leave the container in
 * CreateContainerConfigError); names the pod, the variable and the missing object.
 */
export class PodEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodEnvError';
  }
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function fieldValue(pod: Pod, fieldPath: string): string | undefined {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[keyed[2] ?? ''] ?? '';
  }
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName ?? 'default',
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  return fieldPath in fields ? (fields[fieldPath] ?? '') : undefined;
}

/** Kubernetes' `$(VAR)` expansion against the variables defined so far; `$$` escapes. */
export function expandVariables(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([^)]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && name in defined ? (defined[name] ?? '') : whole;
  });
}

/**
 * The environment the pod's first container gets: `envFrom` sources in order, then `env`
 * (plain values with `$(VAR)` expansion, ConfigMap and Secret keys, downward-API fields),
 * later entries overriding earlier ones, as the kubelet builds it.
 */
export async function resolvePodEnv(pod: Pod, lookup: ConfigLookup): Promise<Record<string, string>> {
  const { namespace, name: podName } = pod.metadata;
  const container = pod.spec.containers[0];
  if (!container) return {};
  const where = `pod ${namespace}/${podName} container ${container.name}`;
  const env: Record<string, string> = {};

  for (const [index, source] of (container.envFrom ?? []).entries()) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref?.name) continue;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const data = source.configMapRef
      ? await lookup.configMap(namespace, ref.name)
      : await lookup.secret(namespace, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new PodEnvError(
        `${where}: envFrom[${index}] refers to ${kind} ${namespace}/${ref.name}, which does not exist`,
      );
    }
    for (const [key, value] of Object.entries(data)) {
      const name = `${source.prefix ?? ''}${key}`;
      if (ENV_NAME.test(name)) env[name] = value;
    }
  }

  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = expandVariables(variable.value ?? '', env);
      continue;
    }
    const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
    if (keyRef) {
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const objectName = keyRef.name ?? '';
      const data = from.configMapKeyRef
        ? await lookup.configMap(namespace, objectName)
        : await lookup.secret(namespace, objectName);
      const value = data?.[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) continue;
        const missing = data ? `has no key "${keyRef.key}"` : 'does not exist';
        throw new PodEnvError(
          `${where}: env ${variable.name} refers to ${kind} ${namespace}/${objectName}, which ${missing}`,
        );
      }
      env[variable.name] = value;
      continue;
    }
    if (from.fieldRef) {
      const value = fieldValue(pod, from.fieldRef.fieldPath);
      if (value === undefined) {
        throw new PodEnvError(
          `${where}: env ${variable.name}: fieldRef ${from.fieldRef.fieldPath} is not a field the local runtime knows`,
        );
      }
      env[variable.name] = value;
    }
    // resourceFieldRef has no meaning for a local process: left unset.
  }
  return env;
}

/** The labels Prometheus' Kubernetes discovery would give the pod's scrape target. */
export function scrapeLabels(pod: Pod): Record<string, string> {
  const labels: Record<string, string> = {
    namespace: pod.metadata.namespace,
    pod: pod.metadata.name,
    container: pod.spec.containers[0]?.name ?? 'app',
  };
  const podLabels = pod.metadata.labels ?? {};
  const app = podLabels.app ?? podLabels['app.kubernetes.io/name'];
  if (app) labels.app = app;
  const version = podLabels.version ?? podLabels['app.kubernetes.io/version'];
  if (version) labels.version = version;
  return labels;
}
