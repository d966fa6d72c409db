import { AUTOSCALER_KINDS, isKnativeTarget, TARGET_KINDS, type Canary } from './canary.ts';
import { parseProvider, unsupportedProviderMessage } from './providers.ts';
import type { ValidationIssue } from './validate.ts';

// Values the CRD accepts because Flagger's Canaries carry them, and that Sluice does not act
// on: refused here, naming the field and what works, so a Canary that has one is Stalled
// with the reason instead of being half served. (What is never valid is refused by the
// apiserver already, through the CEL rules in canary.ts.)

export function unsupportedValues(canary: Canary): ValidationIssue[] {
  const { spec } = canary;
  const issues: ValidationIssue[] = [];
  if (spec.provider !== undefined && !parseProvider(spec.provider)) {
    issues.push({ path: 'spec.provider', message: unsupportedProviderMessage(spec.provider) });
  }
  if (
    !(TARGET_KINDS as readonly string[]).includes(spec.targetRef.kind) &&
    !isKnativeTarget(spec.targetRef)
  ) {
    issues.push({
      path: 'spec.targetRef.kind',
      message: `${spec.targetRef.kind} is not supported; expected ${TARGET_KINDS.join(' or ')} (or a Knative Service with provider knative)`,
    });
  }
  const autoscaler = spec.autoscalerRef?.kind;
  if (autoscaler !== undefined && !(AUTOSCALER_KINDS as readonly string[]).includes(autoscaler)) {
    issues.push({
      path: 'spec.autoscalerRef.kind',
      message: `${autoscaler} is not supported yet; expected ${AUTOSCALER_KINDS.join(' or ')}`,
    });
  }
  return issues;
}
