import type { ReleaseRead } from '../api/release.ts';
import type { PodTemplate } from '../kube/kinds.ts';
import { shortHash, stableStringify } from '../kube/hash.ts';
import { SCALE_TO_ZERO_NODE_SELECTOR } from '../kube/meta.ts';

// A revision names what would run: the pod template plus the content of every ConfigMap
// and Secret it reads. Equal revisions mean an equal release, so a target reverted in Git
// to the last promoted revision starts no rollout.

/** What the target would run now. */
export interface Revision {
  /** Hash of the pod template and the tracked configs together; the machine's `revision`. */
  revision: string;
  /** Hash of the normalised pod template alone. */
  podTemplateHash: string;
  /** Checksum of each tracked config, keyed `configmap/<name>` or `secret/<name>` (Flagger's keys). */
  configs: Record<string, string>;
  /** The release's DORA annotations (dora.metrics/*), when the target has them. */
  release?: ReleaseRead;
}

/** Drops null, empty objects and empty lists: the apiserver treats them as absent, so must the hash. */
function pruneEmpty(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(pruneEmpty).filter((item) => item !== undefined);
    return items.length ? items : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const pruned = pruneEmpty(item);
      if (pruned !== undefined) result[key] = pruned;
    }
    return Object.keys(result).length ? result : undefined;
  }
  return value ?? undefined;
}

/**
 * The pod template as far as it describes the release: without the server's
 * bookkeeping and without what Sluice itself writes on the target (the DaemonSet
 * scale-to-zero node selector), so scaling never looks like a new revision.
 */
export function normalizedPodTemplate(template: PodTemplate): unknown {
  const copy = structuredClone(template) as PodTemplate & { metadata?: Record<string, unknown> };
  if (copy.metadata) delete copy.metadata.creationTimestamp;
  if (copy.spec.nodeSelector) delete copy.spec.nodeSelector[SCALE_TO_ZERO_NODE_SELECTOR];
  return pruneEmpty(copy) ?? {};
}

export function podTemplateHash(template: PodTemplate): string {
  return shortHash(stableStringify(normalizedPodTemplate(template)));
}

/** The checksum of a ConfigMap's or Secret's content (data and binaryData). */
export function configChecksum(content: {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}): string {
  return shortHash(stableStringify({ data: content.data ?? {}, binaryData: content.binaryData ?? {} }));
}

export function revisionOf(template: PodTemplate, configs: Record<string, string>): Revision {
  const templateHash = podTemplateHash(template);
  const configPart = Object.keys(configs)
    .sort()
    .map((key) => `${key}=${configs[key]}`)
    .join('\n');
  // With no tracked configs the revision is the template hash itself, as in Flagger.
  const revision = configPart ? shortHash(`${templateHash}\n${configPart}`) : templateHash;
  return { revision, podTemplateHash: templateHash, configs: { ...configs } };
}
