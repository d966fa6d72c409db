import { describe, expect, it } from 'vitest';
import { fieldIssue, isFieldError } from '../api/validate.ts';
import { canaryWith as fixture } from '../../test/support/canaries.ts';
import { parseProvider, routerFor, UnsupportedProviderError } from './factory.ts';
import { checkRoutes, PRIMARY_ONLY, RoutingNotSupportedError, sameRoutes } from './router.ts';
import { KUBERNETES_CAPABILITIES } from './kubernetes.ts';
import { SMI_CAPABILITIES } from './smi.ts';

const canaryWith = (provider?: string, match = false) =>
  fixture({
    ...(provider ? { provider } : {}),
    analysis: match ? { iterations: 2, match: [{ headers: { a: { exact: '1' } } }] } : { stepWeight: 10 },
  });

/** Every request to the canary, no mirror, no A/B match. */
const ALL_CANARY = { ...PRIMARY_ONLY, primaryWeight: 0, canaryWeight: 100 };

const deps = { kube: {} as never, targetPods: () => Promise.reject(new Error('unused')) };

describe('parseProvider', () => {
  it("understands Flagger's provider strings", () => {
    expect(parseProvider('istio')).toEqual({ kind: 'istio' });
    expect(parseProvider('gatewayapi:v1')).toEqual({ kind: 'gatewayapi' });
    expect(parseProvider('smi:v1alpha3:osm')).toEqual({ kind: 'smi', version: 'v1alpha3' });
    expect(parseProvider('smi:v1alpha1')).toEqual({ kind: 'smi', version: 'v1alpha1' });
    expect(parseProvider('linkerd')).toEqual({ kind: 'smi', version: 'v1alpha2' });
    expect(parseProvider('smi')).toEqual({ kind: 'smi', version: 'v1alpha2' });
    expect(parseProvider('kubernetes')).toEqual({ kind: 'kubernetes' });
    expect(parseProvider('smi:v2')).toBeUndefined();
    expect(parseProvider('gatewayapi:v1beta1')).toBeUndefined();
  });
});

describe('routerFor', () => {
  it('picks a router by spec.provider, istio when unset', () => {
    expect(routerFor(canaryWith('smi:v1alpha3'), deps).provider).toBe('smi:v1alpha3');
    expect(routerFor(canaryWith(), deps).provider).toBe('istio');
    expect(routerFor(canaryWith(), deps, { defaultProvider: 'kubernetes' }).provider).toBe('kubernetes');
  });

  it('names the Canary and the field for a provider it does not route', () => {
    const error = (() => {
      try {
        // Parsing refuses it already; routerFor refuses it too, for objects that were not parsed.
        const canary = canaryWith('istio');
        canary.spec.provider = 'appmesh';
        routerFor(canary, deps);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnsupportedProviderError);
    expect((error as UnsupportedProviderError).field).toBe('spec.provider');
    // Typed for the reconciler: the field, the values that work, one issue to stall with.
    expect(isFieldError(error)).toBe(true);
    expect((error as UnsupportedProviderError).supported).toContain('gatewayapi:v1');
    expect(fieldIssue(error as UnsupportedProviderError)).toEqual({
      path: 'spec.provider',
      message: expect.stringMatching(/^"appmesh" is not supported \(App Mesh .*\); expected one of istio, /),
    });
    expect((error as Error).message).toMatch(
      /^Canary shop\/web: spec.provider "appmesh" is not supported \(App Mesh is .*\); expected one of istio/,
    );
  });
});

describe('checkRoutes', () => {
  it('refuses what the provider cannot do, naming it', () => {
    const canary = canaryWith('kubernetes');
    expect(() =>
      checkRoutes(canary, 'kubernetes', KUBERNETES_CAPABILITIES, {
        primaryWeight: 50,
        canaryWeight: 50,
        mirror: false,
        match: false,
      }),
    ).toThrow(
      'Canary shop/web: provider kubernetes cannot split traffic 50/50: it sends all traffic to the primary or all to the canary',
    );
    expect(() =>
      checkRoutes(canary, 'smi:v1alpha2', SMI_CAPABILITIES, { ...PRIMARY_ONLY, mirror: true }),
    ).toThrow(RoutingNotSupportedError);
    expect(() => checkRoutes(canary, 'kubernetes', KUBERNETES_CAPABILITIES, ALL_CANARY)).not.toThrow();
  });

  it('checks weights and that A/B has matches to route by', () => {
    const caps = { weights: true, mirror: true, match: true };
    expect(() =>
      checkRoutes(canaryWith(), 'istio', caps, {
        primaryWeight: 101,
        canaryWeight: -1,
        mirror: false,
        match: false,
      }),
    ).toThrow(/primaryWeight must be an integer from 0 to 100 \(got 101\)/);
    expect(() => checkRoutes(canaryWith(), 'istio', caps, { ...ALL_CANARY, match: true })).toThrow(
      /spec\.analysis\.match is empty/,
    );
    expect(() =>
      checkRoutes(canaryWith('istio', true), 'istio', caps, { ...ALL_CANARY, match: true }),
    ).not.toThrow();
  });
});

describe('sameRoutes', () => {
  it('treats routes that send no traffic to the canary alike however they match', () => {
    expect(sameRoutes(PRIMARY_ONLY, { ...PRIMARY_ONLY, match: true })).toBe(true);
    expect(
      sameRoutes(
        { primaryWeight: 0, canaryWeight: 100, mirror: false, match: true },
        { primaryWeight: 0, canaryWeight: 100, mirror: false, match: false },
      ),
    ).toBe(false);
    expect(sameRoutes(PRIMARY_ONLY, { ...PRIMARY_ONLY, mirror: true })).toBe(false);
  });
});
