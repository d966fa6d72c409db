import { describe, expect, it } from 'vitest';
import { ownsCanary, shardLeaseName, shardNameProblem, shardSelector, SHARD_LABEL } from './shard.ts';

describe('shards', () => {
  it('selects a shard by its label, and the unsharded replica by the label being absent', () => {
    expect(shardSelector('a')).toBe('sluice.dev/shard=a');
    expect(shardSelector(undefined)).toBe('!sluice.dev/shard');
  });

  it('owns a Canary exactly when its selector would list it', () => {
    expect(ownsCanary('a', { [SHARD_LABEL]: 'a' })).toBe(true);
    expect(ownsCanary('a', { [SHARD_LABEL]: 'b' })).toBe(false);
    expect(ownsCanary('a', undefined)).toBe(false);
    expect(ownsCanary(undefined, {})).toBe(true);
    expect(ownsCanary(undefined, { app: 'x' })).toBe(true);
    expect(ownsCanary(undefined, { [SHARD_LABEL]: 'a' })).toBe(false);
    // An empty value is a label all the same: no replica's selector lists it.
    expect(ownsCanary(undefined, { [SHARD_LABEL]: '' })).toBe(false);
  });

  it('gives every shard a Lease of its own and leaves the unsharded one its old name', () => {
    expect(shardLeaseName('sluice-controller', 'a')).toBe('sluice-controller-a');
    expect(shardLeaseName('sluice-controller', undefined)).toBe('sluice-controller');
  });

  it('refuses shard names that cannot name a Lease or a Deployment, saying what is expected', () => {
    expect(shardNameProblem('eu-1')).toBeUndefined();
    expect(shardNameProblem('')).toMatch(/leave --shard out/);
    expect(shardNameProblem('A')).toMatch(/lowercase letters/);
    expect(shardNameProblem('a_b')).toMatch(/lowercase letters/);
    expect(shardNameProblem('-a')).toMatch(/lowercase letters/);
    expect(shardNameProblem('x'.repeat(41))).toMatch(/at most 40/);
  });
});
