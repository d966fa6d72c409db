import { describe, expect, it } from 'vitest';
import { parseProxySpec } from './runtime-cli.ts';

describe('--proxy', () => {
  it.each([
    ['podinfo', { service: 'podinfo' }],
    ['demo/podinfo', { namespace: 'demo', service: 'podinfo' }],
    ['demo/podinfo:8080', { namespace: 'demo', service: 'podinfo', port: 8080 }],
    [
      'podinfo=podinfo.test,app.example.com',
      { service: 'podinfo', hosts: ['podinfo.test', 'app.example.com'] },
    ],
  ])('reads %s', (text, expected) => {
    expect(parseProxySpec(text)).toEqual(expected);
  });

  it.each(['', 'Podinfo', 'a/b/c', 'podinfo:http', 'podinfo:70000'])(
    'rejects %j with the expected form',
    (text) => {
      expect(() => parseProxySpec(text)).toThrow(/--proxy: /);
    },
  );
});
