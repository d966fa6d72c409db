import { describe, expect, it } from 'vitest';
import { age, formatNumber, phaseLook, shortRevision } from './format.ts';

describe('page formatting', () => {
  it('writes ages the way kubectl does', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(age('2026-01-01T23:59:15Z', now)).toBe('45s');
    expect(age('2026-01-01T23:00:00Z', now)).toBe('60m');
    expect(age('2025-12-30T00:00:00Z', now)).toBe('3d');
    expect(age(undefined, now)).toBe('-');
  });

  it('writes numbers short and marks every phase with a symbol as well as a colour', () => {
    expect(formatNumber(99.51234)).toBe('99.51');
    expect(formatNumber(1234.5)).toBe('1235');
    expect(formatNumber(undefined)).toBe('no value');
    expect(shortRevision('0123456789abcdef')).toBe('0123456789');
    expect(phaseLook('Failed')).toEqual({ symbol: '✖', tone: 'bad' });
    expect(phaseLook('Unheard').symbol).toBe('•');
  });
});
