import type { Canary } from '../api/canary.ts';
import { daemonSetTarget } from './daemonset.ts';
import { deploymentTarget } from './deployment.ts';
import { canaryRef } from '../kube/meta.ts';
import type { Target, TargetDeps } from './target.ts';

/** A target kind Sluice cannot release (yet); names the Canary and the field. */
export class UnsupportedTargetError extends Error {
  readonly canary: string;
  readonly field = 'spec.targetRef.kind';
  constructor(canary: string, kind: string) {
    super(`Canary ${canary}: spec.targetRef.kind ${kind} is not supported; expected Deployment or DaemonSet`);
    this.name = 'UnsupportedTargetError';
    this.canary = canary;
  }
}

/** The target implementation for a Canary's spec.targetRef.kind. */
export function targetFor(canary: Canary, deps: TargetDeps): Target {
  const kind = canary.spec.targetRef.kind;
  switch (kind) {
    case 'Deployment':
      return deploymentTarget(deps);
    case 'DaemonSet':
      return daemonSetTarget(deps);
    default:
      throw new UnsupportedTargetError(canaryRef(canary), kind);
  }
}
