import { FIELD_MANAGER } from './client.ts';
import type { ManagedFieldsEntry } from './kinds.ts';

// Who owns a field of an object, from its managedFields: server-side apply records an
// owner per field. A declarative owner (an applier, a GitOps reconciler) sets the field
// again on its next sync, so Sluice must not fight it (docs/decisions/0006-gitops-replicas.md).

/** Field managers of GitOps reconcilers that re-assert what they applied even without server-side apply. */
export const GITOPS_MANAGERS: readonly string[] = [
  'kustomize-controller',
  'helm-controller',
  'argocd-controller',
  'argocd-application-controller',
  'fleet-agent',
  'kapp',
];

export interface FieldOwner {
  manager: string;
  operation: string;
  /** A declarative owner sets the field again on its next sync. */
  declarative: boolean;
}

function ownsPath(fields: unknown, path: readonly string[]): boolean {
  let node = fields;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string, unknown>)[segment];
  }
  return node !== undefined;
}

/** The managers that own a field (path in fieldsV1 form, e.g. ['f:spec', 'f:replicas']), other than Sluice. */
export function fieldOwners(
  managedFields: readonly ManagedFieldsEntry[] | undefined,
  path: readonly string[],
  gitopsManagers: readonly string[] = GITOPS_MANAGERS,
): FieldOwner[] {
  const owners: FieldOwner[] = [];
  for (const entry of managedFields ?? []) {
    const manager = entry.manager ?? '';
    // Writes through the scale subresource (the HPA) own replicas too, imperatively.
    if (manager === FIELD_MANAGER || !ownsPath(entry.fieldsV1, path)) continue;
    const operation = entry.operation ?? 'Update';
    owners.push({
      manager,
      operation,
      declarative: !entry.subresource && (operation === 'Apply' || gitopsManagers.includes(manager)),
    });
  }
  return owners;
}
