import { describe, expect, it } from 'vitest';
import { emptyTally } from './audit.ts';
import { perMinute } from './idle.ts';

describe('perMinute', () => {
  it('gives all requests and each verb per minute, zero for verbs not seen', () => {
    const tally = { ...emptyTally(), total: 37, byVerb: { watch: 36, list: 1 } };
    expect(perMinute('api_rpm', tally, 120)).toEqual({
      api_rpm: 18.5,
      api_rpm_get: 0,
      api_rpm_list: 0.5,
      api_rpm_watch: 18,
      api_rpm_create: 0,
      api_rpm_update: 0,
      api_rpm_patch: 0,
      api_rpm_delete: 0,
    });
  });
});
