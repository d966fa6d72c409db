import { describe, expect, it } from 'vitest';
import { canaryWith as testCanary } from '../../test/support/canaries.ts';
import { fieldIssue, isFieldError } from '../api/validate.ts';
import { targetFor, UnsupportedTargetError } from './factory.ts';

describe('targetFor', () => {
  it('refuses a kind it cannot release with a typed error naming the field and the kinds that work', () => {
    const canary = testCanary();
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
      message: 'Service is not supported; expected Deployment or DaemonSet or StatefulSet',
    });
    expect((error as UnsupportedTargetError).supported).toEqual(['Deployment', 'DaemonSet', 'StatefulSet']);
  });
});
