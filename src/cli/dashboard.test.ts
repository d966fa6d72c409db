import { describe, expect, it } from 'vitest';
import { parseAddress } from './controller.ts';
import { dashboardNamespaces } from './dashboard.ts';

describe('dashboard flags', () => {
  it('reads -n as a list and -A (or neither) as every namespace', () => {
    expect(dashboardNamespaces({ namespace: 'a, b' })).toEqual(['a', 'b']);
    expect(dashboardNamespaces({ allNamespaces: true })).toBeUndefined();
    expect(dashboardNamespaces({})).toBeUndefined();
    expect(() => dashboardNamespaces({ namespace: 'a', allNamespaces: true })).toThrow(
      '-n NS or -A, not both',
    );
  });

  it('reads --dashboard-address as host:port, :port or [v6]:port', () => {
    expect(parseAddress('127.0.0.1:9090', '--dashboard-address')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseAddress(':9090', '--dashboard-address')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(parseAddress('[::1]:80', '--dashboard-address')).toEqual({ host: '::1', port: 80 });
    expect(() => parseAddress('9090', '--dashboard-address')).toThrow(
      '--dashboard-address: "9090" is not an address',
    );
  });
});
