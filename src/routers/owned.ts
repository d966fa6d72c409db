import type { Kube } from '../kube/client.ts';
import type { JsonObject } from '../kube/kinds.ts';
import type { Canary } from '../api/canary.ts';
import { CANARY_ANNOTATION, CREATED_ANNOTATION, canaryNamespace, copiedMetadata } from '../kube/meta.ts';
import { applyObject, deleteObject, getObject, type DesiredObject, type ObjectRef } from '../kube/objects.ts';

// Routing objects Sluice creates carry `sluice.dev/created`; one that existed before
// (a VirtualService or HTTPRoute the team wrote, now taken over) instead keeps its
// original spec in `sluice.dev/original-spec`, so revertOnDeletion gives it back.

export const ORIGINAL_SPEC_ANNOTATION = 'sluice.dev/original-spec';

export function annotationsOf(object: JsonObject | undefined): Record<string, string> {
  return (object?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
}

export function labelsOf(object: JsonObject | undefined): Record<string, string> {
  return (object?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
}

/** The bookkeeping annotations for an object Sluice is about to apply, given what is there now. */
export function ownershipAnnotations(
  canaryName: string,
  live: JsonObject | undefined,
): Record<string, string> {
  const current = annotationsOf(live);
  if (!live || current[CREATED_ANNOTATION] === 'true') {
    return { [CANARY_ANNOTATION]: canaryName, [CREATED_ANNOTATION]: 'true' };
  }
  const original = current[ORIGINAL_SPEC_ANNOTATION] ?? JSON.stringify(live.spec ?? {});
  return { [CANARY_ANNOTATION]: canaryName, [ORIGINAL_SPEC_ANNOTATION]: original };
}

/**
 * revertOnDeletion for one routing object: deleted if Sluice created it; its original
 * spec applied back (without Sluice's annotations) if it was adopted. Returns what it did.
 */
export async function releaseObject(
  kube: Pick<Kube, 'wire'>,
  ref: ObjectRef,
): Promise<'deleted' | 'restored' | 'absent'> {
  const live = await getObject(kube, ref);
  if (!live) return 'absent';
  const annotations = annotationsOf(live);
  const original = annotations[ORIGINAL_SPEC_ANNOTATION];
  if (annotations[CREATED_ANNOTATION] === 'true' || original === undefined) {
    await deleteObject(kube, ref);
    return 'deleted';
  }
  // Only the spec: Sluice's annotations, owned by Sluice alone, go away with this apply.
  const restored: DesiredObject = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { ...ref.metadata },
    spec: JSON.parse(original) as JsonObject,
  };
  await applyObject(kube, restored);
  return 'restored';
}

/**
 * The metadata of a routing object that stands for the apex Service: its name, the labels
 * and annotations of spec.service.apex, Sluice's ownership annotations, then `annotations`.
 */
export function apexObjectMetadata(
  canary: Canary,
  name: string,
  live: JsonObject | undefined,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): JsonObject & { name: string; namespace: string } {
  const apex = canary.spec.service.apex;
  return {
    name,
    namespace: canaryNamespace(canary),
    labels: { ...copiedMetadata(apex?.labels), ...extra.labels },
    annotations: {
      ...copiedMetadata(apex?.annotations),
      ...ownershipAnnotations(canary.metadata.name, live),
      ...extra.annotations,
    },
  };
}
