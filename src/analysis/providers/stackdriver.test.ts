import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseServiceAccountKey, serviceAccountAssertion, stackdriverResultToValue } from './stackdriver.ts';

describe('stackdriver', () => {
  it('reads the newest point of each series (double, int64 or bool)', () => {
    const body = {
      timeSeriesData: [
        { pointData: [{ values: [{ doubleValue: 0.25 }] }, { values: [{ doubleValue: 9 }] }] },
        { pointData: [{ values: [{ int64Value: '12' }] }] },
      ],
    };
    expect(stackdriverResultToValue(body, 'q')).toEqual([0.25, 12]);
    expect(() => stackdriverResultToValue({}, 'q')).toThrowError('no values from stackdriver for query q');
  });

  it('signs the JWT-bearer assertion with the key, for its token_uri and the monitoring.read scope', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = parseServiceAccountKey(
      JSON.stringify({
        type: 'service_account',
        client_email: 'sa@p.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        private_key_id: 'k1',
        token_uri: 'https://oauth2.example/token',
      }),
    );
    const [header, claims, signature] = serviceAccountAssertion(key, 1_700_000_000_000).split('.');
    expect(JSON.parse(Buffer.from(header ?? '', 'base64url').toString())).toEqual({
      alg: 'RS256',
      typ: 'JWT',
      kid: 'k1',
    });
    expect(JSON.parse(Buffer.from(claims ?? '', 'base64url').toString())).toEqual({
      iss: 'sa@p.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/monitoring.read',
      aud: 'https://oauth2.example/token',
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    expect(
      createVerify('RSA-SHA256')
        .update(`${header}.${claims}`)
        .verify(publicKey, Buffer.from(signature ?? '', 'base64url')),
    ).toBe(true);
    expect(() => parseServiceAccountKey('{"type": "authorized_user"}')).toThrowError(
      /is not a service-account key file/,
    );
  });
});
