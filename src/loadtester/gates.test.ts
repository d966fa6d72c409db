import { describe, expect, it } from 'vitest';
import { gateKey, MemoryGateStore } from './gates.ts';

describe('gateKey', () => {
  it('keys gates and rollback gates per canary', () => {
    expect(gateKey('gate', { name: 'podinfo', namespace: 'test' })).toBe('gate.test.podinfo');
    expect(gateKey('rollback', { name: 'podinfo', namespace: 'test' })).toBe('rollback.test.podinfo');
  });

  it('makes any name a valid ConfigMap key', () => {
    expect(gateKey('gate', { name: 'a/b c', namespace: 'test' })).toBe('gate.test.a_b_c');
    const long = gateKey('gate', { name: 'x'.repeat(300), namespace: 'test' });
    expect(long).toHaveLength(253);
    expect(long).toMatch(/^[-._a-zA-Z0-9]+$/);
    expect(gateKey('gate', { name: `${'x'.repeat(299)}y`, namespace: 'test' })).not.toBe(long);
  });
});

describe('MemoryGateStore', () => {
  it('keeps gates closed until opened', async () => {
    const store = new MemoryGateStore();
    expect(await store.isOpen('gate.test.podinfo')).toBe(false);
    await store.set('gate.test.podinfo', true);
    expect(await store.isOpen('gate.test.podinfo')).toBe(true);
    expect(await store.isOpen('rollback.test.podinfo')).toBe(false);
    await store.set('gate.test.podinfo', false);
    expect(await store.isOpen('gate.test.podinfo')).toBe(false);
  });
});
