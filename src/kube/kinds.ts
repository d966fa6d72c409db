import { z } from 'zod';

// The parts of built-in objects Sluice reads, as the apiserver sends them (wire JSON).
// Every schema is loose: fields Sluice does not read pass through untouched, so a pod
// template copied to the primary keeps fields newer than any client model.

/** A JSON object whose fields Sluice passes on without reading them. */
export type JsonObject = { [key: string]: unknown };

const StringMap = z.record(z.string(), z.string());

export const ManagedFieldsEntry = z.looseObject({
  manager: z.string().optional(),
  operation: z.string().optional(),
  subresource: z.string().optional(),
  time: z.string().optional(),
  fieldsV1: z.looseObject({}).optional(),
});
export type ManagedFieldsEntry = z.output<typeof ManagedFieldsEntry>;

export const OwnerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.output<typeof OwnerReference>;

export const Metadata = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  managedFields: z.array(ManagedFieldsEntry).optional(),
  deletionTimestamp: z.string().optional(),
});
export type Metadata = z.output<typeof Metadata>;

export const LabelSelector = z.looseObject({
  matchLabels: StringMap.optional(),
  matchExpressions: z
    .array(z.looseObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() }))
    .optional(),
});
export type LabelSelector = z.output<typeof LabelSelector>;

const KeyRef = z.looseObject({ name: z.string().optional(), optional: z.boolean().optional() });

const EnvVar = z.looseObject({
  name: z.string(),
  valueFrom: z
    .looseObject({
      configMapKeyRef: KeyRef.optional(),
      secretKeyRef: KeyRef.optional(),
    })
    .optional(),
});

const EnvFromSource = z.looseObject({
  configMapRef: KeyRef.optional(),
  secretRef: KeyRef.optional(),
});

export const Container = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  env: z.array(EnvVar).optional(),
  envFrom: z.array(EnvFromSource).optional(),
  ports: z
    .array(
      z.looseObject({
        name: z.string().optional(),
        containerPort: z.int(),
        protocol: z.string().optional(),
      }),
    )
    .optional(),
});
export type Container = z.output<typeof Container>;

export const Volume = z.looseObject({
  name: z.string(),
  configMap: KeyRef.optional(),
  secret: z.looseObject({ secretName: z.string().optional(), optional: z.boolean().optional() }).optional(),
  projected: z
    .looseObject({
      sources: z.array(z.looseObject({ configMap: KeyRef.optional(), secret: KeyRef.optional() })).optional(),
    })
    .optional(),
});

export const PodSpec = z.looseObject({
  containers: z.array(Container),
  initContainers: z.array(Container).optional(),
  volumes: z.array(Volume).optional(),
  nodeSelector: StringMap.optional(),
});
export type PodSpec = z.output<typeof PodSpec>;

export const PodTemplate = z.looseObject({
  metadata: z.looseObject({ labels: StringMap.optional(), annotations: StringMap.optional() }).optional(),
  spec: PodSpec,
});
export type PodTemplate = z.output<typeof PodTemplate>;

export const WorkloadCondition = z.looseObject({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastUpdateTime: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});
export type WorkloadCondition = z.output<typeof WorkloadCondition>;

type Counts<K extends string> = Record<K, z.ZodOptional<z.ZodInt>>;

/** Counts a status reports: whole numbers, each optional. */
function counts<K extends string>(...names: K[]): Counts<K> {
  return Object.fromEntries(names.map((name) => [name, z.int().optional()])) as Counts<K>;
}

/** A workload kind: a selector and a pod template in its spec (and `spec`'s fields), `status`'s fields. */
function workloadKind<K extends string, Spec extends z.ZodRawShape, Status extends z.ZodRawShape>(
  kind: K,
  spec: Spec,
  status: Status,
) {
  return z.looseObject({
    apiVersion: z.string(),
    kind: z.literal(kind),
    metadata: Metadata,
    spec: z.looseObject({ selector: LabelSelector, template: PodTemplate, ...spec }),
    status: z.looseObject({ observedGeneration: z.int().optional(), ...status }).optional(),
  });
}

export const Deployment = workloadKind(
  'Deployment',
  { replicas: z.int().optional() },
  {
    ...counts('replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'),
    conditions: z.array(WorkloadCondition).optional(),
  },
);
export type Deployment = z.output<typeof Deployment>;

export const DaemonSet = workloadKind(
  'DaemonSet',
  {},
  {
    ...counts('desiredNumberScheduled', 'currentNumberScheduled', 'updatedNumberScheduled'),
    ...counts('numberReady', 'numberAvailable', 'numberUnavailable'),
  },
);
export type DaemonSet = z.output<typeof DaemonSet>;

export const StatefulSet = workloadKind(
  'StatefulSet',
  {
    replicas: z.int().optional(),
    updateStrategy: z
      .looseObject({
        type: z.string().optional(),
        rollingUpdate: z.looseObject({ partition: z.int().optional() }).optional(),
      })
      .optional(),
  },
  {
    ...counts('replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas'),
    currentRevision: z.string().optional(),
    updateRevision: z.string().optional(),
  },
);
export type StatefulSet = z.output<typeof StatefulSet>;

export type Workload = Deployment | DaemonSet;

const ContainerState = z.looseObject({
  waiting: z.looseObject({ reason: z.string().optional(), message: z.string().optional() }).optional(),
  running: z.looseObject({}).optional(),
  terminated: z
    .looseObject({
      exitCode: z.int().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
    })
    .optional(),
});

export const ContainerStatus = z.looseObject({
  name: z.string(),
  ready: z.boolean().optional(),
  restartCount: z.int().optional(),
  state: ContainerState.optional(),
  lastState: ContainerState.optional(),
});
export type ContainerStatus = z.output<typeof ContainerStatus>;

export const Pod = z.looseObject({
  metadata: Metadata,
  status: z
    .looseObject({
      phase: z.string().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
      containerStatuses: z.array(ContainerStatus).optional(),
      initContainerStatuses: z.array(ContainerStatus).optional(),
    })
    .optional(),
});
export type Pod = z.output<typeof Pod>;

export const ConfigMap = z.looseObject({
  metadata: Metadata,
  data: StringMap.optional(),
  binaryData: StringMap.optional(),
  immutable: z.boolean().optional(),
});
export type ConfigMap = z.output<typeof ConfigMap>;

export const Secret = z.looseObject({
  metadata: Metadata,
  type: z.string().optional(),
  data: StringMap.optional(),
  immutable: z.boolean().optional(),
});
export type Secret = z.output<typeof Secret>;

export const HorizontalPodAutoscaler = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('HorizontalPodAutoscaler'),
  metadata: Metadata,
  spec: z.looseObject({
    scaleTargetRef: z.looseObject({ apiVersion: z.string().optional(), kind: z.string(), name: z.string() }),
    minReplicas: z.int().optional(),
    maxReplicas: z.int(),
    metrics: z.array(z.looseObject({})).optional(),
    behavior: z.looseObject({}).optional(),
  }),
  status: z
    .looseObject({
      currentReplicas: z.int().optional(),
      desiredReplicas: z.int().optional(),
      conditions: z.array(WorkloadCondition).optional(),
    })
    .optional(),
});
export type HorizontalPodAutoscaler = z.output<typeof HorizontalPodAutoscaler>;

/**
 * Parses an object read from the apiserver; the error names the object, the field and
 * what was expected, so a malformed target reads as such rather than as a crash later.
 */
export function parseWire<S extends z.ZodType>(schema: S, object: unknown, what: string): z.output<S> {
  const result = schema.safeParse(object);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '<root>'}: ${issue.message}`)
    .join('; ');
  throw new Error(`${what} is not what Sluice expected: ${problems}`);
}
