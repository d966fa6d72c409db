import { describe, expect, it } from 'vitest';
import { fieldIssue, isFieldError, parseCanary } from '../api/validate.ts';
import { targetFor, UnsupportedTargetError } from './factory.ts';

describe('targetFor', () => {
  it('refuses a kind it cannot release with a typed error naming the field and the kinds that work', () => {
    const parsed = parseCanary({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        service: { port: 80 },
        analysis: { stepWeight: 10 },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const canary = parsed.canary;
    canary.spec.targetRef.kind = 'Service'; // parseCanary refuses it; targetFor does too
    let error: unknown;
    try {
      targetFor(canary, { kube: {} as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedTargetError);
    expect(isFieldError(error)).toBe(true);
    expect(fieldIssue(error as UnsupportedTargetError)).toEqual({
      path: 'spec.targetRef.kind',
      message: 'Service is not supported; expected Deployment or DaemonSet',
    });
    expect((error as UnsupportedTargetError).supported).toEqual(['Deployment', 'DaemonSet']);
  });
});
