import { describe, expect, it } from 'vitest';
import { effectKey, hookKey, keyedEventName } from './idempotency.ts';

describe('idempotency keys', () => {
  const effect = { uid: '6f1c-uid', checksum: 'a1b2c3', effectId: 42 };

  it('are the same for the same effect and differ in any part', () => {
    const key = effectKey(effect, 'recordEvent', 'Synced', 'advance canary weight 20');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(effectKey({ ...effect }, 'recordEvent', 'Synced', 'advance canary weight 20')).toBe(key);
    const others = [
      effectKey({ ...effect, uid: 'other' }, 'recordEvent', 'Synced', 'advance canary weight 20'),
      effectKey({ ...effect, checksum: 'other' }, 'recordEvent', 'Synced', 'advance canary weight 20'),
      effectKey({ ...effect, effectId: 43 }, 'recordEvent', 'Synced', 'advance canary weight 20'),
      effectKey(effect, 'recordEvent', 'Synced', 'advance canary weight 40'),
      // Parts are separated: moving text from one part to the next is another key.
      effectKey(effect, 'recordEvent', 'SyncedA', 'dvance canary weight 20'),
    ];
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
  });

  it('give each hook of one effect its own key', () => {
    const key = effectKey(effect, 'runWebhooks', 'pre-rollout');
    expect(hookKey(key, 'load-test')).toMatch(/^[0-9a-f]{32}$/);
    expect(hookKey(key, 'load-test')).toBe(hookKey(key, 'load-test'));
    expect(hookKey(key, 'load-test')).not.toBe(hookKey(key, 'smoke'));
  });

  it('name the Event after the canary and the key, within the 253 characters of a name', () => {
    const key = effectKey(effect, 'recordEvent', 'Synced', 'promotion completed');
    expect(keyedEventName('podinfo', key)).toBe(`podinfo.${key}`);
    const long = keyedEventName('a'.repeat(253), key);
    expect(long).toHaveLength(253);
    expect(long.endsWith(`.${key}`)).toBe(true);
  });
});
