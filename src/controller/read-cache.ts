import type { KubernetesObject } from '@kubernetes/client-node';
import type { WireObjectApi } from '../kube/wire.ts';

// Reads of targets and their configs from the informers' caches instead of a GET per
// reconcile (three to five GETs each, a thousand canaries every interval). Reads stay
// consistent with this controller's own writes: a write's resourceVersion is remembered,
// and until the informer has caught up with it the read goes to the apiserver.

/** The informer's view of one object: `cached: false` when no synced informer covers it. */
export type CacheLookup = (
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
) => { cached: true; object: KubernetesObject | undefined } | { cached: false };

/** resourceVersions this controller wrote last, by object; `deleted` after a delete. */
export type WrittenVersions = Map<string, string>;

const DELETED = 'deleted';

function keyOf(object: KubernetesObject): string | undefined {
  const { apiVersion, kind, metadata } = object;
  if (!apiVersion || !kind || !metadata?.name) return undefined;
  return `${apiVersion}/${kind}/${metadata.namespace ?? ''}/${metadata.name}`;
}

/** Is `cached` at least as new as `written`? resourceVersions are etcd revisions in practice. */
export function caughtUp(cached: string | undefined, written: string): boolean {
  if (written === DELETED || !cached) return false;
  try {
    return BigInt(cached) >= BigInt(written);
  } catch {
    return false; // not a number: never guess, read from the apiserver
  }
}

function notFound(ref: KubernetesObject): Error {
  return Object.assign(
    new Error(
      `${ref.kind} ${ref.metadata?.namespace ?? ''}/${ref.metadata?.name ?? ''} not found (informer cache)`,
    ),
    { code: 404 },
  );
}

/**
 * The same client with getObject served from the informers where they hold the object (or
 * know it does not exist) and are not behind this controller's own last write of it.
 */
export function readThroughWire(
  wire: WireObjectApi,
  lookup: CacheLookup,
  written: WrittenVersions = new Map(),
): WireObjectApi {
  const remember = (object: KubernetesObject | undefined, fallbackKey?: string) => {
    const key = (object && keyOf(object)) ?? fallbackKey;
    const version = object?.metadata?.resourceVersion;
    if (key && version) written.set(key, version);
  };
  const getObject = async (ref: KubernetesObject) => {
    const key = keyOf(ref);
    const hit = key
      ? lookup(
          ref.apiVersion as string,
          ref.kind as string,
          ref.metadata?.namespace ?? '',
          ref.metadata?.name ?? '',
        )
      : { cached: false as const };
    if (key && hit.cached) {
      const mine = written.get(key);
      if (mine === undefined) {
        if (!hit.object) throw notFound(ref);
        return hit.object;
      }
      if (mine === DELETED ? !hit.object : caughtUp(hit.object?.metadata?.resourceVersion, mine)) {
        written.delete(key);
        if (!hit.object) throw notFound(ref);
        return hit.object;
      }
    }
    return wire.getObject(ref);
  };
  const overrides: Partial<Record<keyof WireObjectApi, unknown>> = {
    getObject,
    async applyObject(object: KubernetesObject, options: Parameters<WireObjectApi['applyObject']>[1]) {
      const result = await wire.applyObject(object, options);
      remember(result);
      return result;
    },
    async mergePatchObject(
      ref: KubernetesObject,
      patch: unknown,
      options?: Parameters<WireObjectApi['mergePatchObject']>[2],
    ) {
      const result = await wire.mergePatchObject<KubernetesObject>(ref, patch, options);
      // A subresource write (status, scale) changes the object's resourceVersion too.
      remember(result, keyOf(ref));
      return result;
    },
    async deleteObject(ref: KubernetesObject, propagationPolicy?: string) {
      await wire.deleteObject(ref, propagationPolicy);
      const key = keyOf(ref);
      if (key) written.set(key, DELETED);
    },
  };
  return new Proxy(wire, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides)
        return overrides[property as keyof WireObjectApi];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
