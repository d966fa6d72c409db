import type { Canary } from '../api/canary.ts';
import type { LabelSelector, OwnerReference } from './kinds.ts';

// Names, labels and annotations Sluice puts on what it creates, and the rules for which
// of the target's own labels and annotations are copied to the primary.

export const SLUICE_PREFIX = 'sluice.dev/';

/** On every object Sluice creates or co-owns: the Canary it belongs to. */
export const CANARY_ANNOTATION = 'sluice.dev/canary';
/** Set when Sluice created the object (not adopted): finalize deletes it instead of restoring it. */
export const CREATED_ANNOTATION = 'sluice.dev/created';
/** Hash of the desired state Sluice last applied: an unchanged spec costs a read, not a write. */
export const APPLIED_HASH_ANNOTATION = 'sluice.dev/applied-hash';
/** On the primary's pod template: the revision it runs, so a config-only change rolls the pods. */
export const REVISION_ANNOTATION = 'sluice.dev/revision';
/** On a ConfigMap/Secret: `disabled` opts it out of tracking (Flagger: flagger.app/config-tracking). */
export const CONFIG_TRACKING_ANNOTATION = 'sluice.dev/config-tracking';
/** On a `-primary` config copy: the checksum of the data it holds. */
export const CHECKSUM_ANNOTATION = 'sluice.dev/checksum';
/** Node selector that keeps an idle DaemonSet target off every node. */
export const SCALE_TO_ZERO_NODE_SELECTOR = 'sluice.dev/scale-to-zero';

/** Selector labels whose value Sluice suffixes with `-primary`, in Flagger's order of preference. */
export const SELECTOR_LABELS = ['app', 'name', 'app.kubernetes.io/name'] as const;

/**
 * Labels and annotations never copied from the target to what Sluice creates: Sluice's
 * own, the GitOps tools' ownership marks (a copied mark makes Flux or Argo CD prune or
 * claim the primary) and per-object bookkeeping of kubectl and the Deployment controller.
 */
const NOT_COPIED: readonly ((key: string) => boolean)[] = [
  (key) => key.startsWith(SLUICE_PREFIX),
  (key) => key.includes('toolkit.fluxcd.io'),
  (key) => key.startsWith('argocd.argoproj.io/'),
  (key) => key === 'kubectl.kubernetes.io/last-applied-configuration',
  (key) => key === 'deployment.kubernetes.io/revision',
  (key) => key === 'deprecated.daemonset.template.generation',
];

export function isCopiedKey(key: string): boolean {
  return !NOT_COPIED.some((excluded) => excluded(key));
}

/** The entries of a label/annotation map that Sluice copies. */
export function copiedMetadata(map: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) if (isCopiedKey(key)) result[key] = value;
  return result;
}

export function targetName(canary: Canary): string {
  return canary.spec.targetRef.name;
}

export function primaryName(canary: Canary): string {
  return `${canary.spec.targetRef.name}-primary`;
}

export function canaryNamespace(canary: Canary): string {
  const namespace = canary.metadata.namespace;
  if (!namespace) throw new Error(`Canary ${canary.metadata.name}: metadata.namespace is required`);
  return namespace;
}

/** `namespace/name` of the Canary, for messages. */
export function canaryRef(canary: Canary): string {
  return `${canary.metadata.namespace ?? ''}/${canary.metadata.name}`;
}

/** The label that tells primary from canary pods, and its value on the target's pods. */
export interface SelectorLabel {
  label: string;
  value: string;
}

/** Values of the selector label on the primary's and the canary's pods. */
export function primaryValue(selector: SelectorLabel): string {
  return `${selector.value}-primary`;
}

/** Finds the selector label (app, name or app.kubernetes.io/name) of a target. */
export function selectorLabel(what: string, selector: LabelSelector): SelectorLabel {
  for (const label of SELECTOR_LABELS) {
    const value = selector.matchLabels?.[label];
    if (value !== undefined) return { label, value };
  }
  throw new Error(`${what}: spec.selector.matchLabels must contain one of ${SELECTOR_LABELS.join(', ')}`);
}

/** Labels of a primary object: the source's, with the selector label pointing at the primary. */
export function primaryLabels(
  labels: Record<string, string> | undefined,
  selector: SelectorLabel,
): Record<string, string> {
  return { ...copiedMetadata(labels), [selector.label]: primaryValue(selector) };
}

/** The owner reference that ties an object to another (e.g. a `-primary` ConfigMap to the primary). */
export function ownerReference(owner: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string };
}): OwnerReference {
  if (!owner.metadata.uid)
    throw new Error(`${owner.kind} ${owner.metadata.name}: no metadata.uid to own objects`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: false,
    blockOwnerDeletion: false,
  };
}

/** The Canary as the subject of an Event. */
export function canarySubject(canary: Canary) {
  return {
    apiVersion: canary.apiVersion,
    kind: canary.kind,
    name: canary.metadata.name,
    namespace: canaryNamespace(canary),
    ...(canary.metadata.uid ? { uid: canary.metadata.uid } : {}),
  };
}
