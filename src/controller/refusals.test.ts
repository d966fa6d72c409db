import { describe, expect, it } from 'vitest';
import { RouterConfigError, RoutingNotSupportedError } from '../routers/router.ts';
import { apiError } from '../../test/support/fakes.ts';
import { permanentIssue } from './refusals.ts';

// Which effect errors stall a canary (permanent) and which the queue retries (transient):
// decision 0018-permanent-errors.

describe('permanentIssue', () => {
  it('stalls on the apiserver’s 400, 403, 404 and 422, with its message, also when wrapped', () => {
    for (const code of [400, 403, 404, 422]) {
      expect(permanentIssue('setRoutes', apiError(code, 'HTTPRoute "web" is invalid'))).toEqual({
        path: 'setRoutes',
        message: `the apiserver refused it (${code}): HTTPRoute "web" is invalid`,
        reason: 'ApiRefused',
      });
    }
    const wrapped = new Error('applying HTTPRoute shop/web failed: HTTPRoute "web" is invalid', {
      cause: apiError(422, 'HTTPRoute "web" is invalid'),
    });
    expect(permanentIssue('setRoutes', wrapped)?.message).toBe(
      'the apiserver refused it (422): applying HTTPRoute shop/web failed: HTTPRoute "web" is invalid',
    );
  });

  it('retries connection errors, 409, 429 and 5xx', () => {
    for (const error of [
      apiError(409, 'conflict'),
      apiError(429, 'too many requests'),
      apiError(500, 'internal'),
      apiError(503, 'unavailable'),
      new Error('connect ECONNREFUSED 127.0.0.1:6443'),
    ]) {
      expect(permanentIssue('scaleCanary', error)).toBeUndefined();
    }
  });

  it('stalls on routes the provider cannot express and on a field a router refuses, naming what works', () => {
    expect(
      permanentIssue('setRoutes', new RoutingNotSupportedError('shop/web', 'smi', 'mirror traffic')),
    ).toEqual({
      path: 'spec.provider',
      message: 'provider smi cannot mirror traffic',
      reason: 'UnsupportedByProvider',
    });
    expect(
      permanentIssue(
        'setRoutes',
        new RouterConfigError('shop/web', 'spec.service.rewrite.type', 'is not one Gateway API has', [
          'ReplacePrefixMatch',
          'ReplaceFullPath',
        ]),
      ),
    ).toEqual({
      path: 'spec.service.rewrite.type',
      message: 'is not one Gateway API has; expected ReplacePrefixMatch or ReplaceFullPath',
    });
  });
});
