import type { Kube } from '../kube/client.ts';
import type { Canary } from '../api/canary.ts';
import { ConfigMap, Metadata, parseWire, Secret, type OwnerReference, type PodSpec } from '../kube/kinds.ts';
import {
  CANARY_ANNOTATION,
  CHECKSUM_ANNOTATION,
  CONFIG_TRACKING_ANNOTATION,
  copiedMetadata,
} from '../kube/meta.ts';
import { applyObject, describe, getObject, type DesiredObject } from '../kube/objects.ts';
import { configChecksum } from './revision.ts';

// ConfigMaps and Secrets the target's pods read are part of its revision. On promotion
// they are copied to `<name>-primary` and the primary is pointed at the copies, so the
// primary keeps running the config it was promoted with: a rolled-back config change is
// really rolled back, not silently live in the primary's pods.

export type ConfigKind = 'ConfigMap' | 'Secret';

export interface ConfigRef {
  kind: ConfigKind;
  name: string;
  /** Every reference to it is `optional: true`: a missing one is skipped, not an error. */
  optional: boolean;
}

/** The key of a tracked config in revisions and `status.trackedConfigs` (Flagger's form). */
export function configKey(kind: ConfigKind, name: string): string {
  return `${kind === 'ConfigMap' ? 'configmap' : 'secret'}/${name}`;
}

export function primaryConfigName(name: string): string {
  return `${name}-primary`;
}

/** Secret types that carry application config; registry and token secrets are not tracked (as in Flagger). */
const TRACKED_SECRET_TYPES = new Set([
  'Opaque',
  'kubernetes.io/basic-auth',
  'kubernetes.io/ssh-auth',
  'kubernetes.io/tls',
]);

/** Every ConfigMap and Secret the pod spec reads: env, envFrom, volumes and projected volumes. */
export function referencedConfigs(spec: PodSpec): ConfigRef[] {
  const found = new Map<string, ConfigRef>();
  const add = (kind: ConfigKind, name: string | undefined, optional: boolean | undefined): void => {
    if (!name) return;
    const key = configKey(kind, name);
    const previous = found.get(key);
    // One mandatory reference makes the config mandatory.
    found.set(key, { kind, name, optional: (previous?.optional ?? true) && optional === true });
  };
  for (const volume of spec.volumes ?? []) {
    add('ConfigMap', volume.configMap?.name, volume.configMap?.optional);
    add('Secret', volume.secret?.secretName, volume.secret?.optional);
    for (const source of volume.projected?.sources ?? []) {
      add('ConfigMap', source.configMap?.name, source.configMap?.optional);
      add('Secret', source.secret?.name, source.secret?.optional);
    }
  }
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
    for (const env of container.env ?? []) {
      add('ConfigMap', env.valueFrom?.configMapKeyRef?.name, env.valueFrom?.configMapKeyRef?.optional);
      add('Secret', env.valueFrom?.secretKeyRef?.name, env.valueFrom?.secretKeyRef?.optional);
    }
    for (const source of container.envFrom ?? []) {
      add('ConfigMap', source.configMapRef?.name, source.configMapRef?.optional);
      add('Secret', source.secretRef?.name, source.secretRef?.optional);
    }
  }
  return [...found.values()].sort((a, b) =>
    configKey(a.kind, a.name).localeCompare(configKey(b.kind, b.name)),
  );
}

/** Whether a config's own annotation opts it out (Sluice's, or Flagger's for migrated objects). */
export function trackingDisabled(annotations: Record<string, string> | undefined): boolean {
  const value = annotations?.[CONFIG_TRACKING_ANNOTATION] ?? annotations?.['flagger.app/config-tracking'];
  return value?.startsWith('disable') ?? false;
}

/**
 * The pod spec with every reference to a tracked config renamed to its `-primary` copy.
 * Untracked configs (opted out, registry secrets) keep their names: the primary shares them.
 */
export function withPrimaryConfigs(spec: PodSpec, tracked: ReadonlySet<string>): PodSpec {
  const copy = structuredClone(spec);
  const rename = <T extends { name?: string }>(kind: ConfigKind, ref: T | undefined): void => {
    if (ref?.name && tracked.has(configKey(kind, ref.name))) ref.name = primaryConfigName(ref.name);
  };
  for (const volume of copy.volumes ?? []) {
    rename('ConfigMap', volume.configMap);
    if (volume.secret?.secretName && tracked.has(configKey('Secret', volume.secret.secretName))) {
      volume.secret.secretName = primaryConfigName(volume.secret.secretName);
    }
    for (const source of volume.projected?.sources ?? []) {
      rename('ConfigMap', source.configMap);
      rename('Secret', source.secret);
    }
  }
  for (const container of [...copy.containers, ...(copy.initContainers ?? [])]) {
    for (const env of container.env ?? []) {
      rename('ConfigMap', env.valueFrom?.configMapKeyRef);
      rename('Secret', env.valueFrom?.secretKeyRef);
    }
    for (const source of container.envFrom ?? []) {
      rename('ConfigMap', source.configMapRef);
      rename('Secret', source.secretRef);
    }
  }
  return copy;
}

/** A config the target reads, with its content as read. */
export interface TrackedConfig {
  kind: ConfigKind;
  name: string;
  key: string;
  checksum: string;
  labels?: Record<string, string>;
  /** Secret type, for the copy. */
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export function checksums(configs: readonly TrackedConfig[]): Record<string, string> {
  return Object.fromEntries(configs.map((config) => [config.key, config.checksum]));
}

/**
 * The `-primary` copy of a tracked config, owned by the primary workload so it lives as
 * long as the primary does (not the Canary: deleting a Canary must not break the primary).
 */
export function primaryConfigObject(
  config: TrackedConfig,
  namespace: string,
  canary: Canary,
  owner: OwnerReference | undefined,
): DesiredObject {
  const metadata = {
    name: primaryConfigName(config.name),
    namespace,
    labels: copiedMetadata(config.labels),
    annotations: { [CANARY_ANNOTATION]: canary.metadata.name, [CHECKSUM_ANNOTATION]: config.checksum },
    ...(owner ? { ownerReferences: [owner] } : {}),
  };
  if (config.kind === 'ConfigMap') {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata,
      data: config.data ?? {},
      ...(config.binaryData ? { binaryData: config.binaryData } : {}),
    };
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: config.type ?? 'Opaque',
    data: config.data ?? {},
  };
}

/**
 * Reads every config the pod spec references that is tracked. A missing mandatory config
 * is an error naming the workload and the config; a missing optional one is skipped.
 */
export async function readTrackedConfigs(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  spec: PodSpec,
  what: string,
): Promise<TrackedConfig[]> {
  const tracked: TrackedConfig[] = [];
  for (const ref of referencedConfigs(spec)) {
    const object = await getObject(kube, {
      apiVersion: 'v1',
      kind: ref.kind,
      metadata: { name: ref.name, namespace },
    });
    if (!object) {
      if (ref.optional) continue;
      throw new Error(`${what} references ${ref.kind} ${namespace}/${ref.name}, which does not exist`);
    }
    const label = `${ref.kind} ${namespace}/${ref.name}`;
    if (ref.kind === 'ConfigMap') {
      const config = parseWire(ConfigMap, object, label);
      if (trackingDisabled(config.metadata.annotations)) continue;
      tracked.push({
        kind: 'ConfigMap',
        name: ref.name,
        key: configKey('ConfigMap', ref.name),
        checksum: configChecksum(config),
        labels: config.metadata.labels,
        data: config.data,
        binaryData: config.binaryData,
      });
    } else {
      const secret = parseWire(Secret, object, label);
      if (trackingDisabled(secret.metadata.annotations)) continue;
      if (!TRACKED_SECRET_TYPES.has(secret.type ?? 'Opaque')) continue;
      tracked.push({
        kind: 'Secret',
        name: ref.name,
        key: configKey('Secret', ref.name),
        checksum: configChecksum(secret),
        labels: secret.metadata.labels,
        type: secret.type,
        data: secret.data,
      });
    }
  }
  return tracked;
}

/**
 * Writes the `-primary` copies whose content differs from what they hold (one read each,
 * a write only for a changed config). Returns how many were written.
 */
export async function syncPrimaryConfigs(
  kube: Pick<Kube, 'wire'>,
  namespace: string,
  canary: Canary,
  configs: readonly TrackedConfig[],
  owner: OwnerReference | undefined,
): Promise<number> {
  let written = 0;
  for (const config of configs) {
    const desired = primaryConfigObject(config, namespace, canary, owner);
    const live = await getObject(kube, desired);
    const metadata = live ? parseWire(Metadata, live.metadata, describe(desired)) : undefined;
    const sameOwner = owner
      ? (metadata?.ownerReferences?.some((ref) => ref.uid === owner.uid) ?? false)
      : true;
    if (metadata?.annotations?.[CHECKSUM_ANNOTATION] === config.checksum && sameOwner) continue;
    await applyObject(kube, desired);
    written += 1;
  }
  return written;
}
