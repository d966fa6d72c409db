import { isKnativeTarget, TARGET_KINDS, type Canary, type TargetKind } from '../api/canary.ts';
import { daemonSetTarget } from './daemonset.ts';
import { deploymentTarget } from './deployment.ts';
import { knativeTarget } from './knative.ts';
import { statefulSetTarget } from './statefulset.ts';
import { canaryRef } from '../kube/meta.ts';
import type { Target, TargetDeps } from './target.ts';

/** One target implementation per kind the API lists (src/api/canary.ts); the compiler checks the map is complete. */
export const TARGETS = {
  Deployment: deploymentTarget,
  DaemonSet: daemonSetTarget,
  StatefulSet: statefulSetTarget,
} as const satisfies Record<TargetKind, (deps: TargetDeps) => Target>;

/** A target kind Sluice cannot release; names the Canary, the field and the kinds that would work. */
export class UnsupportedTargetError extends Error {
  readonly canary: string;
  readonly field = 'spec.targetRef.kind';
  readonly supported: readonly string[] = TARGET_KINDS;
  constructor(canary: string, kind: string) {
    super(
      `Canary ${canary}: spec.targetRef.kind ${kind} is not supported; expected ${TARGET_KINDS.join(' or ')}`,
    );
    this.name = 'UnsupportedTargetError';
    this.canary = canary;
  }
}

/** The target implementation for a Canary's spec.targetRef.kind. */
export function targetFor(canary: Canary, deps: TargetDeps): Target {
  const kind = canary.spec.targetRef.kind;
  // A Knative Service (provider knative) is released by revision, not by a -primary copy.
  if (isKnativeTarget(canary.spec.targetRef)) return knativeTarget(deps);
  if (!(TARGET_KINDS as readonly string[]).includes(kind))
    throw new UnsupportedTargetError(canaryRef(canary), kind);
  return TARGETS[kind as TargetKind](deps);
}
