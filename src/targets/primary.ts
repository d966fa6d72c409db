import type { Canary } from '../api/canary.ts';
import { withPrimaryConfigs } from './config-tracker.ts';
import type {
  DaemonSet,
  Deployment,
  JsonObject,
  LabelSelector,
  PodSpec,
  PodTemplate,
} from '../kube/kinds.ts';
import {
  CANARY_ANNOTATION,
  REVISION_ANNOTATION,
  SCALE_TO_ZERO_NODE_SELECTOR,
  copiedMetadata,
  primaryLabels,
  primaryName,
  primaryValue,
  type SelectorLabel,
} from '../kube/meta.ts';
import type { DesiredObject } from '../kube/objects.ts';

// The primary workload as a pure function of the target: same pod spec, the selector
// label suffixed with -primary so primary and canary pods never mix, tracked configs
// renamed to their -primary copies, and the revision on the pod template so a
// config-only change still rolls the primary's pods.

/** Label selectors inside the pod spec that point at the target's own pods now point at the primary's. */
function rewriteSelector(selector: LabelSelector | undefined, target: SelectorLabel): void {
  if (!selector) return;
  const primary = primaryValue(target);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (key === target.label && value === target.value) selector.matchLabels![key] = primary;
  }
  for (const expression of selector.matchExpressions ?? []) {
    if (expression.key !== target.label || !expression.values) continue;
    expression.values = expression.values.map((value) => (value === target.value ? primary : value));
  }
}

interface AffinityTerm {
  labelSelector?: LabelSelector;
  podAffinityTerm?: { labelSelector?: LabelSelector };
}

/** The target's pod spec as the primary runs it. */
export function primaryPodSpec(
  spec: PodSpec,
  selector: SelectorLabel,
  trackedConfigs: ReadonlySet<string>,
): PodSpec {
  const copy = withPrimaryConfigs(spec, trackedConfigs);
  if (copy.nodeSelector) {
    delete copy.nodeSelector[SCALE_TO_ZERO_NODE_SELECTOR];
    if (Object.keys(copy.nodeSelector).length === 0) delete copy.nodeSelector;
  }
  const constraints = copy.topologySpreadConstraints as { labelSelector?: LabelSelector }[] | undefined;
  for (const constraint of constraints ?? []) rewriteSelector(constraint.labelSelector, selector);
  const affinity = copy.affinity as
    Record<string, Record<string, AffinityTerm[] | undefined> | undefined> | undefined;
  for (const kind of ['podAntiAffinity', 'podAffinity']) {
    const terms = affinity?.[kind];
    for (const term of [
      ...(terms?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(terms?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
    ]) {
      rewriteSelector(term.labelSelector, selector);
      rewriteSelector(term.podAffinityTerm?.labelSelector, selector);
    }
  }
  return copy;
}

export function primaryPodTemplate(
  template: PodTemplate,
  selector: SelectorLabel,
  trackedConfigs: ReadonlySet<string>,
  revision: string,
): PodTemplate {
  return {
    metadata: {
      labels: primaryLabels(template.metadata?.labels, selector),
      annotations: { ...copiedMetadata(template.metadata?.annotations), [REVISION_ANNOTATION]: revision },
    },
    spec: primaryPodSpec(template.spec, selector, trackedConfigs),
  };
}

function primaryMetadata(target: Deployment | DaemonSet, canary: Canary, selector: SelectorLabel) {
  return {
    name: primaryName(canary),
    namespace: target.metadata.namespace,
    labels: primaryLabels(target.metadata.labels, selector),
    annotations: {
      ...copiedMetadata(target.metadata.annotations),
      [CANARY_ANNOTATION]: canary.metadata.name,
    },
  };
}

/** Copies the named spec fields that are set. */
function pick(spec: JsonObject, keys: readonly string[]): JsonObject {
  const result: JsonObject = {};
  for (const key of keys) if (spec[key] !== undefined) result[key] = structuredClone(spec[key]);
  return result;
}

export interface PrimaryInput {
  canary: Canary;
  selector: SelectorLabel;
  trackedConfigs: ReadonlySet<string>;
  revision: string;
}

export function primaryDeployment(target: Deployment, input: PrimaryInput, replicas: number): DesiredObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: primaryMetadata(target, input.canary, input.selector),
    spec: {
      ...pick(target.spec, [
        'minReadySeconds',
        'revisionHistoryLimit',
        'progressDeadlineSeconds',
        'strategy',
      ]),
      replicas,
      ...primaryPods(target, input),
    },
  };
}

/** The selector and pod template of a primary: the target's pods, labelled as the primary's. */
function primaryPods(target: Deployment | DaemonSet, input: PrimaryInput) {
  return {
    selector: { matchLabels: { [input.selector.label]: primaryValue(input.selector) } },
    template: primaryPodTemplate(target.spec.template, input.selector, input.trackedConfigs, input.revision),
  };
}

export function primaryDaemonSet(target: DaemonSet, input: PrimaryInput): DesiredObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: primaryMetadata(target, input.canary, input.selector),
    spec: {
      ...pick(target.spec, ['minReadySeconds', 'revisionHistoryLimit', 'updateStrategy']),
      ...primaryPods(target, input),
    },
  };
}

/** `k=v,k2=v2` for a list call, from a selector's matchLabels. */
export function labelSelectorString(matchLabels: Record<string, string> | undefined): string {
  return Object.entries(matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
