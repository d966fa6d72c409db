import { fieldOwners, GITOPS_MANAGERS, type FieldOwner } from '../kube/field-owners.ts';
import type { ManagedFieldsEntry } from '../kube/kinds.ts';

// Who owns the target's spec.replicas decides whether Sluice may scale it (see
// docs/decisions/0006-gitops-replicas.md). Server-side apply records an owner per field:
// when a GitOps reconciler (Flux, Argo CD, …) applies a manifest that sets replicas, it
// owns the field and will set it back on its next sync, so Sluice scaling the idle canary
// to zero would start a tug of war. Sluice then leaves replicas alone and says why, once
// per attempt, without writing. When the manifest leaves replicas out, nobody declarative
// owns it and Sluice scales freely; the reconciler never notices.

export type ReplicasDecision =
  /** The target already has the replicas Sluice wants. */
  | { action: 'none' }
  /** Write them; `force` takes the field from imperative owners (kubectl, the HPA). */
  | { action: 'apply'; force: boolean }
  /** A declarative owner holds another value: leave it and warn. */
  | { action: 'skip'; owners: FieldOwner[]; message: string };

/**
 * What Sluice does to bring `spec.replicas` of the target from `live` to `desired`.
 * `what` names the object in the message (e.g. `Deployment apps/podinfo`).
 */
export function decideReplicas(
  what: string,
  live: number | undefined,
  desired: number,
  managedFields: readonly ManagedFieldsEntry[] | undefined,
  gitopsManagers: readonly string[] = GITOPS_MANAGERS,
): ReplicasDecision {
  if ((live ?? 1) === desired) return { action: 'none' };
  const owners = fieldOwners(managedFields, ['f:spec', 'f:replicas'], gitopsManagers);
  const declarative = owners.filter((owner) => owner.declarative);
  if (declarative.length === 0) return { action: 'apply', force: true };
  const names = declarative.map((owner) => `${owner.manager} (${owner.operation})`).join(', ');
  return {
    action: 'skip',
    owners: declarative,
    message:
      `${what}: spec.replicas is set to ${live ?? 1} by ${names}, which applies it from Git; ` +
      `Sluice leaves it instead of setting ${desired} so the two do not fight. ` +
      `Remove spec.replicas from the manifest so Sluice can scale the canary (see docs/gitops.md).`,
  };
}
