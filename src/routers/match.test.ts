import { describe, expect, it } from 'vitest';
import {
  combineMatches,
  gatewayMatches,
  istioMatchIssues,
  MatchNotSupportedError,
  mergeGatewayMatches,
  mergeMatches,
  translateGatewayMatches,
} from './match.ts';

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

describe('combineMatches', () => {
  it('refuses two different conditions on the same thing, naming both fields', () => {
    const { issues } = combineMatches(
      [{ uri: { prefix: '/v2' }, headers: { 'X-User': { exact: 'beta' } } }],
      [{ uri: { prefix: '/api' }, headers: { 'x-user': { exact: 'any' } } }],
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'spec.analysis.match[0].uri',
      'spec.analysis.match[0].headers.X-User',
    ]);
    expect(issues[0]!.message).toMatch(/conflicts with spec\.service\.match\[0\]\.uri/);
    expect(() => mergeMatches([{ uri: { prefix: '/v2' } }], [{ uri: { prefix: '/api' } }])).toThrow(
      MatchNotSupportedError,
    );
  });

  it('keeps a condition both sides hold once', () => {
    expect(
      mergeMatches([{ uri: { prefix: '/api' }, name: 'ab' }], [{ uri: { prefix: '/api' }, name: 'r' }]),
    ).toEqual([{ uri: { prefix: '/api' }, name: 'ab' }]);
  });
});

describe('istioMatchIssues', () => {
  it('refuses what Istio’s StringMatch and HTTPMatchRequest do not have', () => {
    const issues = istioMatchIssues(
      [
        { headers: { a: { suffix: '-beta' } }, queryParams: { q: { prefix: 'x' } } },
        { uri: {}, method: { exact: 'GET', prefix: 'G' } },
        { sourceLabels: { app: 'x' }, port: 80, gateways: ['mesh'], withoutHeaders: { b: { regex: '.+' } } },
        { statPrefix: 'ab', unknownField: true } as never,
      ],
      'spec.analysis.match',
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'spec.analysis.match[0].headers.a.suffix',
      'spec.analysis.match[0].queryParams.q.prefix',
      'spec.analysis.match[1].uri',
      'spec.analysis.match[1].method',
      'spec.analysis.match[3].unknownField',
    ]);
  });
});

describe('gatewayMatches', () => {
  it('translates paths, methods, headers and query params; a match without conditions matches everything', () => {
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
          { name: 'c', type: 'RegularExpression', value: 'v1\\..*' },
          { name: 'd', type: 'RegularExpression', value: '.*-beta' },
        ],
      },
      {
        path: { type: 'RegularExpression', value: '^/y' },
        queryParams: [{ name: 'q', type: 'Exact', value: 'on' }],
      },
      { path: { type: 'PathPrefix', value: '/' } },
    ]);
  });

  it('names every field it cannot translate and never drops one', () => {
    expect(() => gatewayMatches([{ method: { prefix: 'G' } }], 'spec.service.match')).toThrow(
      'spec.service.match[0].method.prefix: Gateway API (method) can match here by exact only',
    );
    const { issues } = translateGatewayMatches(
      [
        { port: 8080 },
        { gateways: ['mesh'], ignoreUriCase: true, sourceNamespace: 'x' },
        { scheme: { exact: 'https' }, authority: { exact: 'a' }, withoutHeaders: {}, sourceLabels: {} },
        { uri: { suffix: '.png' } },
        { uri: { exact: 'relative' }, method: { exact: 'FETCH' } },
      ],
      'spec.analysis.match',
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'spec.analysis.match[0].port',
      'spec.analysis.match[1].gateways',
      'spec.analysis.match[1].ignoreUriCase',
      'spec.analysis.match[1].sourceNamespace',
      'spec.analysis.match[2].scheme',
      'spec.analysis.match[2].authority',
      'spec.analysis.match[2].withoutHeaders',
      'spec.analysis.match[2].sourceLabels',
      'spec.analysis.match[3].uri.suffix',
      'spec.analysis.match[4].uri.exact',
      'spec.analysis.match[4].method.exact',
    ]);
    expect(issues[0]!.message).toMatch(/^has no Gateway API equivalent: .*gatewayRefs\[\]\.port/);
  });
});

describe('mergeGatewayMatches', () => {
  it('refuses an A/B condition on a header the route already matches differently', () => {
    const route = [
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [
          { name: 'x-user', type: 'Exact', value: 'any' },
          { name: 'h', value: '1' },
        ],
      },
    ];
    expect(() =>
      mergeGatewayMatches([{ headers: [{ name: 'X-User', type: 'Exact', value: 'beta' }] }], route),
    ).toThrow(
      /spec\.analysis\.match\[0\]\.headers\.X-User: conflicts with spec\.service\.match\[0\]\.headers\.x-user/,
    );
    expect(mergeGatewayMatches([{ headers: [{ name: 'H', type: 'Exact', value: '1' }] }], route)).toEqual([
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [
          { name: 'x-user', type: 'Exact', value: 'any' },
          { name: 'H', type: 'Exact', value: '1' },
        ],
      },
    ]);
  });
});
