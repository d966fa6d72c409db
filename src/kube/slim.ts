import type { ManagedFieldsEntry } from './kinds.ts';

// What an informer keeps of each object. Like controller-runtime's cache TransformFunc, the
// fields Sluice never reads from a cached object are dropped before it is cached: most of a
// Deployment's managedFields (one fieldsV1 tree per manager, often larger than the spec) and
// kubectl's last-applied-configuration (a second copy of the whole object as a string).
// Measured effect: docs/performance.md, "Where the memory goes".

/**
 * The owned fields Sluice asks about (fieldOwners): who owns a workload's replicas
 * (decision 0006-gitops-replicas) and a Service's selector. Every other fieldsV1 branch is
 * dropped; an entry that owns none of these keeps its manager and operation only.
 */
export const READ_OWNED_FIELDS: readonly (readonly string[])[] = [
  ['f:spec', 'f:replicas'],
  ['f:spec', 'f:selector'],
];

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type FieldsTree = Record<string, unknown>;

/** The parts of a fieldsV1 tree on `paths`, or undefined when it owns none of them. */
export function pruneFields(
  fields: FieldsTree | undefined,
  paths: readonly (readonly string[])[],
): FieldsTree | undefined {
  if (!fields) return undefined;
  let kept: FieldsTree | undefined;
  for (const path of paths) {
    let node: unknown = fields;
    for (const segment of path) {
      node = node !== null && typeof node === 'object' ? (node as FieldsTree)[segment] : undefined;
    }
    if (node === undefined) continue;
    // Rebuild the path down to the owned leaf; the leaf's own subtree is not read.
    kept ??= {};
    let into = kept;
    for (const segment of path.slice(0, -1)) into = (into[segment] ??= {}) as FieldsTree;
    into[path.at(-1)!] = {};
  }
  return kept;
}

function slimEntry(entry: ManagedFieldsEntry, paths: readonly (readonly string[])[]): ManagedFieldsEntry {
  const fieldsV1 = pruneFields(entry.fieldsV1, paths);
  return {
    ...(entry.manager !== undefined ? { manager: entry.manager } : {}),
    ...(entry.operation !== undefined ? { operation: entry.operation } : {}),
    ...(entry.subresource !== undefined ? { subresource: entry.subresource } : {}),
    ...(fieldsV1 ? { fieldsV1 } : {}),
  };
}

interface Slimmable {
  metadata?: {
    managedFields?: ManagedFieldsEntry[];
    annotations?: Record<string, string>;
  };
}

/**
 * The object as an informer caches it: managedFields pruned to READ_OWNED_FIELDS, the
 * last-applied annotation dropped. Mutates and returns the object (it is fresh from the
 * wire and nothing else holds it).
 */
export function slimForCache<T>(object: T): T {
  const metadata = (object as Slimmable | undefined)?.metadata;
  if (!metadata || typeof metadata !== 'object') return object;
  if (Array.isArray(metadata.managedFields)) {
    metadata.managedFields = metadata.managedFields.map((entry) => slimEntry(entry, READ_OWNED_FIELDS));
  }
  if (metadata.annotations && LAST_APPLIED in metadata.annotations) {
    const annotations = { ...metadata.annotations };
    delete annotations[LAST_APPLIED];
    metadata.annotations = annotations;
  }
  return object;
}
