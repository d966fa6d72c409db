import type { KubernetesObject } from '@kubernetes/client-node';
import { apiErrorMessage, apply, isNotFound, type ApplyOptions, type Kube } from './client.ts';
import type { JsonObject } from './kinds.ts';
import { APPLIED_HASH_ANNOTATION } from './meta.ts';
import { shortHash, stableStringify } from './hash.ts';

// Object access shared by targets and routers: reads that treat "not found" as a value,
// server-side apply that names the object in its errors, and apply-if-changed, which
// spends a write only when the desired state differs from what the apiserver holds.

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** A desired object: what Sluice applies (plain JSON). */
export type DesiredObject = ObjectRef & JsonObject & { metadata: ObjectRef['metadata'] & JsonObject };

export function describe(ref: ObjectRef): string {
  const { name, namespace } = ref.metadata;
  return `${ref.kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

function asKubernetesObject(object: ObjectRef): KubernetesObject {
  return object as unknown as KubernetesObject;
}

/** Reads an object as the apiserver sends it; undefined when it does not exist. */
export async function getObject(kube: Pick<Kube, 'wire'>, ref: ObjectRef): Promise<JsonObject | undefined> {
  try {
    return (await kube.wire.getObject(asKubernetesObject(ref))) as unknown as JsonObject;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`reading ${describe(ref)} failed: ${apiErrorMessage(error)}`, { cause: error });
  }
}

/** Server-side apply as field manager `sluice` (forced unless told otherwise). */
export async function applyObject(
  kube: Pick<Kube, 'wire'>,
  object: DesiredObject,
  options: ApplyOptions = {},
): Promise<JsonObject> {
  try {
    return (await apply(kube, asKubernetesObject(object), options)) as unknown as JsonObject;
  } catch (error) {
    throw new Error(`applying ${describe(object)} failed: ${apiErrorMessage(error)}`, { cause: error });
  }
}

/** Deletes an object; true when it was there. */
export async function deleteObject(kube: Pick<Kube, 'wire'>, ref: ObjectRef): Promise<boolean> {
  try {
    await kube.wire.deleteObject(asKubernetesObject(ref));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw new Error(`deleting ${describe(ref)} failed: ${apiErrorMessage(error)}`, { cause: error });
  }
}

/**
 * Whether every field of `desired` has the same value in `live`. Objects may carry more
 * fields in `live` (defaults, other managers' fields); lists must have the same length,
 * element by element, because Sluice applies whole lists.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((item, i) => isSubset(item, live[i]));
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const liveObject = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(
      ([key, value]) => value === undefined || isSubset(value, liveObject[key]),
    );
  }
  return desired === live;
}

/** The hash of a desired object, without the annotation that carries it. */
export function desiredHash(object: DesiredObject): string {
  const copy = structuredClone(object);
  const annotations = copy.metadata.annotations as Record<string, string> | undefined;
  if (annotations) delete annotations[APPLIED_HASH_ANNOTATION];
  return shortHash(stableStringify(copy));
}

/** The desired object stamped with the hash of itself. */
export function stamped(object: DesiredObject): DesiredObject {
  const hash = desiredHash(object);
  const annotations = { ...((object.metadata.annotations as Record<string, string> | undefined) ?? {}) };
  annotations[APPLIED_HASH_ANNOTATION] = hash;
  return { ...object, metadata: { ...object.metadata, annotations } };
}

function annotationsOf(object: JsonObject | undefined): Record<string, string> {
  const metadata = object?.metadata as { annotations?: Record<string, string> } | undefined;
  return metadata?.annotations ?? {};
}

/**
 * Applies `desired` unless the apiserver already holds it: the stamp says Sluice applied
 * this exact desired state (so removed fields are gone too) and every desired field is
 * still there (so an edit by someone else is corrected). Returns the live object and
 * whether a write happened.
 */
export async function applyIfChanged(
  kube: Pick<Kube, 'wire'>,
  desired: DesiredObject,
  live?: JsonObject,
): Promise<{ object: JsonObject; written: boolean }> {
  const wanted = stamped(desired);
  const current = live ?? (await getObject(kube, desired));
  if (current && unchanged(wanted, current)) return { object: current, written: false };
  return { object: await applyObject(kube, wanted), written: true };
}

export function unchanged(stampedDesired: DesiredObject, live: JsonObject): boolean {
  const hash = (stampedDesired.metadata.annotations as Record<string, string> | undefined)?.[
    APPLIED_HASH_ANNOTATION
  ];
  return annotationsOf(live)[APPLIED_HASH_ANNOTATION] === hash && isSubset(stampedDesired, live);
}
