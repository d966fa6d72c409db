import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { credentialsFromSecretData, decodeSecretData } from './secret.ts';

describe('credentialsFromSecretData', () => {
  it('reads Flagger keys and header.<Name> keys', () => {
    expect(
      credentialsFromSecretData(
        { token: 'abc\n', 'header.X-Scope-OrgID': 'tenant-1', unrelated: 'x' },
        'monitoring/prom-auth',
      ),
    ).toEqual(expect.objectContaining({ bearerToken: 'abc', headers: { 'X-Scope-OrgID': 'tenant-1' } }));
    expect(credentialsFromSecretData({ username: 'u', password: 'p' }, 's')).toEqual(
      expect.objectContaining({ basicAuth: { username: 'u', password: 'p' } }),
    );
    expect(credentialsFromSecretData({ datadog_api_key: 'k', datadog_application_key: 'a' }, 's')).toEqual(
      expect.objectContaining({ datadog: { apiKey: 'k', applicationKey: 'a' } }),
    );
  });

  it('keeps every key for providers with keys of their own, and never prints a value', () => {
    const { secret } = credentialsFromSecretData(
      { dynatrace_token: ' dt0c01.abc\n', empty: '' },
      'monitoring/dt',
    );
    expect(secret?.required('dynatrace_token', 'dynatrace')).toBe('dt0c01.abc');
    expect(secret?.optional('empty')).toBeUndefined();
    expect(() => secret?.required('other', 'dynatrace')).toThrowError(
      'dynatrace provider: the secretRef Secret monitoring/dt must hold the key other',
    );
    expect(JSON.stringify({ secret })).toBe('{"secret":"[Secret monitoring/dt]"}');
    expect(inspect({ secret })).not.toContain('dt0c01');
  });

  it('names the Secret and the missing half of basic auth, never the value', () => {
    expect(() => credentialsFromSecretData({ username: 'admin' }, 'monitoring/prom-auth')).toThrowError(
      'Secret monitoring/prom-auth: has the key username but no password; basic auth needs both',
    );
    expect(() => credentialsFromSecretData({ password: 'hunter2' }, 'monitoring/prom-auth')).toThrowError(
      'Secret monitoring/prom-auth: has the key password but no username; basic auth needs both',
    );
  });
});

describe('decodeSecretData', () => {
  it('decodes base64 data and keeps stringData', () => {
    expect(
      decodeSecretData({
        data: { token: Buffer.from('s3cret').toString('base64') },
        stringData: { username: 'u' },
      }),
    ).toEqual({ token: 's3cret', username: 'u' });
  });
});
