import { describe, expect, it } from 'vitest';
import { credentialsFromSecretData, decodeSecretData } from './secret.ts';

describe('credentialsFromSecretData', () => {
  it('reads Flagger keys and header.<Name> keys', () => {
    expect(
      credentialsFromSecretData(
        { token: 'abc\n', 'header.X-Scope-OrgID': 'tenant-1', unrelated: 'x' },
        'monitoring/prom-auth',
      ),
    ).toEqual({ bearerToken: 'abc', headers: { 'X-Scope-OrgID': 'tenant-1' } });
    expect(credentialsFromSecretData({ username: 'u', password: 'p' }, 's')).toEqual({
      basicAuth: { username: 'u', password: 'p' },
    });
    expect(credentialsFromSecretData({ datadog_api_key: 'k', datadog_application_key: 'a' }, 's')).toEqual({
      datadog: { apiKey: 'k', applicationKey: 'a' },
    });
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
