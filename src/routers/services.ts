import { serviceNames, type Canary } from '../api/canary.ts';
import type { Kube } from '../kube/client.ts';
import type { JsonObject } from '../kube/kinds.ts';
import {
  canarySubject,
  CANARY_ANNOTATION,
  CREATED_ANNOTATION,
  canaryNamespace,
  copiedMetadata,
  primaryValue,
} from '../kube/meta.ts';
import { applyIfChanged, applyObject, deleteObject, getObject, type DesiredObject } from '../kube/objects.ts';
import type { EventSink, TargetPods } from '../targets/target.ts';
import type { ManagedFieldsEntry } from '../kube/kinds.ts';
import { fieldOwners } from '../kube/field-owners.ts';

// The three Services every provider routes through: `<svc>` (the apex, what clients
// call; it selects the primary's pods), `<svc>-primary` and `<svc>-canary`. Sluice applies
// the selector, its ports and its labels/annotations; the type, extra ports and fields
// other tools set are theirs. The kubernetes provider switches traffic by pointing the
// apex at the canary's pods.

export type ServiceRole = 'apex' | 'primary' | 'canary';
/** Which pods the apex Service selects: the primary's, or the target's own (the canary's). */
export type ApexSide = 'primary' | 'canary';

/** On the apex Service: the side Sluice points it at (`primary` or `canary`). */
export const APEX_SIDE_ANNOTATION = 'sluice.dev/apex-selects';

function metadataFor(canary: Canary, role: ServiceRole) {
  const service = canary.spec.service;
  return role === 'apex' ? service.apex : role === 'primary' ? service.primary : service.canary;
}

export function serviceName(canary: Canary, role: ServiceRole): string {
  return serviceNames(canary.spec)[role];
}

export function servicePorts(canary: Canary, pods: TargetPods): JsonObject[] {
  const service = canary.spec.service;
  const main: JsonObject = {
    name: service.portName,
    protocol: 'TCP',
    port: service.port,
    targetPort: service.targetPort ?? service.port,
    ...(service.appProtocol ? { appProtocol: service.appProtocol } : {}),
  };
  const discovered = Object.entries(pods.ports)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, port]): JsonObject => ({ name, protocol: 'TCP', port, targetPort: port }));
  return [main, ...discovered];
}

/**
 * The desired Service for a role. `created` keeps the mark that Sluice created it (and
 * may delete it on finalize); an adopted Service never gets the mark.
 */
export function serviceObject(
  canary: Canary,
  pods: TargetPods,
  role: ServiceRole,
  options: { apexSide?: ApexSide; created: boolean },
): DesiredObject {
  const name = serviceName(canary, role);
  const custom = metadataFor(canary, role);
  const side = role === 'apex' ? (options.apexSide ?? 'primary') : role;
  const selectorValue = side === 'primary' ? primaryValue(pods.selector) : pods.selector.value;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: canaryNamespace(canary),
      labels: { ...copiedMetadata(custom?.labels), [pods.selector.label]: name },
      annotations: {
        ...copiedMetadata(custom?.annotations),
        [CANARY_ANNOTATION]: canary.metadata.name,
        ...(options.created ? { [CREATED_ANNOTATION]: 'true' } : {}),
        ...(role === 'apex' ? { [APEX_SIDE_ANNOTATION]: side } : {}),
      },
    },
    spec: {
      selector: { [pods.selector.label]: selectorValue },
      ports: servicePorts(canary, pods),
    },
  };
}

function annotations(object: JsonObject | undefined): Record<string, string> {
  return (object?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
}

/** Whether Sluice created this object (absent objects will be created by Sluice). */
export function createdBySluice(live: JsonObject | undefined): boolean {
  return !live || annotations(live)[CREATED_ANNOTATION] === 'true';
}

const ref = (canary: Canary, role: ServiceRole) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: serviceName(canary, role), namespace: canaryNamespace(canary) },
});

/**
 * The side Sluice last pointed the apex at (its intent, kept in an annotation), as opposed
 * to what the selector says now, which someone else may have changed.
 */
export async function intendedApexSide(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
): Promise<ApexSide | undefined> {
  const side = annotations(await getObject(kube, ref(canary, 'apex')))[APEX_SIDE_ANNOTATION];
  return side === 'primary' || side === 'canary' ? side : undefined;
}

/** The side the live apex Service selects, or undefined when it does not exist or selects neither. */
export async function liveApexSide(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
  pods: TargetPods,
): Promise<ApexSide | undefined> {
  const live = await getObject(kube, ref(canary, 'apex'));
  const selector = (live?.spec as { selector?: Record<string, string> } | undefined)?.selector;
  const value = selector?.[pods.selector.label];
  if (value === primaryValue(pods.selector)) return 'primary';
  if (value === pods.selector.value) return 'canary';
  return undefined;
}

/**
 * The warning for an apex Service whose selector a GitOps tool also applies: each of its
 * syncs points the Service back at the idle target's pods. Undefined when nobody does.
 */
export function apexSelectorWarning(
  canary: Canary,
  live: JsonObject | undefined,
  gitopsManagers?: readonly string[],
): string | undefined {
  const managedFields = (live?.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)
    ?.managedFields;
  const owners = fieldOwners(managedFields, ['f:spec', 'f:selector'], gitopsManagers).filter(
    (owner) => owner.declarative,
  );
  if (!owners.length) return undefined;
  const names = owners.map((owner) => `${owner.manager} (${owner.operation})`).join(', ');
  return (
    `Service ${canaryNamespace(canary)}/${serviceName(canary, 'apex')}: spec.selector is also applied by ${names}, ` +
    `so each sync sends traffic back to the idle target's pods. Remove this Service from the manifests: ` +
    `Sluice generates it from the Canary's spec.service (see docs/gitops.md).`
  );
}

export interface ServiceDeps {
  kube: Pick<Kube, 'wire'>;
  events?: EventSink;
}

/** Creates or updates the three Services; returns the number of writes. */
export async function reconcileServices(
  deps: ServiceDeps,
  canary: Canary,
  pods: TargetPods,
  apexSide: ApexSide = 'primary',
): Promise<number> {
  let writes = 0;
  // The primary and canary Services first: the apex moves last, onto Services that exist.
  for (const role of ['primary', 'canary', 'apex'] as const) {
    const live = await getObject(deps.kube, ref(canary, role));
    const desired = serviceObject(canary, pods, role, { apexSide, created: createdBySluice(live) });
    const { written } = await applyIfChanged(deps.kube, desired, live);
    if (!written) continue;
    writes += 1;
    const warning = role === 'apex' ? apexSelectorWarning(canary, live) : undefined;
    if (warning) await deps.events?.record(canarySubject(canary), 'Warning', 'ServiceOwnedByGitOps', warning);
  }
  return writes;
}

/** Points the apex Service at one side (the kubernetes provider's switch); at most one write. */
export async function setApexSide(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
  pods: TargetPods,
  side: ApexSide,
): Promise<boolean> {
  const live = await getObject(kube, ref(canary, 'apex'));
  const desired = serviceObject(canary, pods, 'apex', { apexSide: side, created: createdBySluice(live) });
  return (await applyIfChanged(kube, desired, live)).written;
}

/**
 * revertOnDeletion: the apex selects the target's pods again and stays (clients call it);
 * the -primary and -canary Services go if Sluice created them, else Sluice lets go of them.
 */
export async function finalizeServices(
  kube: Pick<Kube, 'wire'>,
  canary: Canary,
  pods: TargetPods,
): Promise<void> {
  // A Canary deleted before its bootstrap finished may have no apex Service: none is made now.
  if (await getObject(kube, ref(canary, 'apex'))) await setApexSide(kube, canary, pods, 'canary');
  for (const role of ['primary', 'canary'] as const) {
    const live = await getObject(kube, ref(canary, role));
    if (!live) continue;
    if (createdBySluice(live)) await deleteObject(kube, ref(canary, role));
    // Applying nothing drops every field only Sluice owned; what others set stays.
    else await applyObject(kube, ref(canary, role));
  }
}
