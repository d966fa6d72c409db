import { describe, expect, it } from 'vitest';
import { gatewayMatches, MatchNotSupportedError, mergeGatewayMatches, mergeMatches } from './match.ts';

describe('mergeMatches', () => {
  it('is the A/B matches alone without service matches', () => {
    expect(mergeMatches([{ headers: { a: { exact: '1' } } }], undefined)).toEqual([
      { headers: { a: { exact: '1' } } },
    ]);
  });

  it('applies each A/B condition within each service condition, adding up headers and query params', () => {
    expect(
      mergeMatches(
        [{ headers: { user: { exact: 'beta' } }, queryParams: { q: { exact: '1' } } }],
        [{ uri: { prefix: '/a' }, headers: { host: { exact: 'x' } } }, { uri: { prefix: '/b' } }],
      ),
    ).toEqual([
      {
        uri: { prefix: '/a' },
        headers: { host: { exact: 'x' }, user: { exact: 'beta' } },
        queryParams: { q: { exact: '1' } },
      },
      { uri: { prefix: '/b' }, headers: { user: { exact: 'beta' } }, queryParams: { q: { exact: '1' } } },
    ]);
  });
});

describe('gatewayMatches', () => {
  it('translates paths, methods, headers and query params', () => {
    expect(
      gatewayMatches(
        [
          {
            uri: { exact: '/x' },
            method: { exact: 'GET' },
            headers: { a: { exact: '1' }, b: { regex: '^2' }, c: { prefix: 'v1.' }, d: { suffix: '-beta' } },
          },
          { uri: { regex: '^/y' }, queryParams: { q: { exact: 'on' } } },
          {},
        ],
        'spec.analysis.match',
      ),
    ).toEqual([
      {
        path: { type: 'Exact', value: '/x' },
        method: 'GET',
        headers: [
          { name: 'a', type: 'Exact', value: '1' },
          { name: 'b', type: 'RegularExpression', value: '^2' },
          { name: 'c', type: 'RegularExpression', value: '^v1\\..*' },
          { name: 'd', type: 'RegularExpression', value: '.*-beta$' },
        ],
      },
      {
        path: { type: 'RegularExpression', value: '^/y' },
        queryParams: [{ name: 'q', type: 'Exact', value: 'on' }],
      },
    ]);
  });

  it('names the field it cannot translate', () => {
    expect(() => gatewayMatches([{ method: { prefix: 'G' } }], 'spec.service.match')).toThrow(
      'spec.service.match[0].method: Gateway API matches a method exactly only',
    );
    expect(() => gatewayMatches([{}, { sourceLabels: { app: 'x' } }], 'spec.analysis.match')).toThrow(
      MatchNotSupportedError,
    );
    expect(() => gatewayMatches([{ uri: { suffix: '.png' } }], 'spec.service.match')).toThrow(
      /spec\.service\.match\[0\]\.uri/,
    );
  });
});

describe('mergeGatewayMatches', () => {
  it('lets the A/B condition on a header replace the route’s condition on the same header', () => {
    expect(
      mergeGatewayMatches(
        [{ headers: [{ name: 'X-User', type: 'Exact', value: 'beta' }] }],
        [
          {
            path: { type: 'PathPrefix', value: '/' },
            headers: [
              { name: 'x-user', type: 'Exact', value: 'any' },
              { name: 'h', value: '1' },
            ],
          },
        ],
      ),
    ).toEqual([
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [
          { name: 'X-User', type: 'Exact', value: 'beta' },
          { name: 'h', value: '1' },
        ],
      },
    ]);
  });
});
