import { createHash, createSign } from 'node:crypto';
import { z } from 'zod';
import {
  errorDetail,
  httpAddress,
  httpCall,
  httpStatusError,
  jsonCall,
  parseJsonBody,
  probeRefusedAsInvalid,
  unexpectedAnswer,
  parseAnswer,
  type HttpProviderConfig,
} from './http.ts';
import { MetricError, excerpt, toMetricValue } from './provider.ts';
import type { MetricProvider, MetricValue, QueryOptions } from './provider.ts';

// Google Cloud Monitoring (Stackdriver), as Flagger: an MQL query through
// POST /v3/projects/<project>/timeSeries:query. Auth as Flagger does it: the Secret's
// `serviceAccountKey` (a service-account key file, exchanged for an access token by the
// OAuth 2.0 JWT-bearer grant at the key's own token_uri), or without one the controller's
// own identity (Workload Identity, through google-auth-library's application default
// credentials). Each series' newest point is its value.

export const STACKDRIVER_DEFAULT_ADDRESS = 'https://monitoring.googleapis.com';
export const MONITORING_READ_SCOPE = 'https://www.googleapis.com/auth/monitoring.read';

export interface StackdriverConfig extends HttpProviderConfig {
  project: string;
  /** The service-account key file (JSON); absent: application default credentials. */
  serviceAccountKey?: string;
  now?: () => number;
  /** Access tokens by key, shared by the providers of one controller (see tokenCache()). */
  tokens?: TokenCache;
}

const serviceAccountKeySchema = z.object({
  type: z.literal('service_account'),
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
  token_uri: z.string().url().default('https://oauth2.googleapis.com/token'),
});
type ServiceAccountKey = z.output<typeof serviceAccountKeySchema>;

export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(
      'stackdriver provider: Secret key serviceAccountKey is not JSON (a service-account key file)',
    );
  }
  const parsed = serviceAccountKeySchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(
      `stackdriver provider: serviceAccountKey is not a service-account key file (check ${fields})`,
    );
  }
  return parsed.data;
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The signed JWT of the JWT-bearer grant (RFC 7523) for a service-account key. */
export function serviceAccountAssertion(key: ServiceAccountKey, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = {
    iss: key.client_email,
    scope: MONITORING_READ_SCOPE,
    aud: key.token_uri,
    iat,
    exp: iat + 3600,
  };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key);
  return `${unsigned}.${base64url(signature)}`;
}

export type TokenCache = Map<string, { token: string; expiresAtMs: number }>;
const defaultTokens: TokenCache = new Map();

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().optional() });

async function exchangeKey(
  key: ServiceAccountKey,
  nowMs: number,
  options: QueryOptions | undefined,
): Promise<{ token: string; expiresInS: number }> {
  const context = { provider: 'stackdriver', query: `token exchange for ${key.client_email}` };
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: serviceAccountAssertion(key, nowMs),
  }).toString();
  const answer = await httpCall(
    {
      url: key.token_uri,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    },
    context,
    options,
  );
  if (answer.status < 200 || answer.status > 299) {
    const error = httpStatusError(answer, { ...context, url: key.token_uri });
    // The token endpoint answers 400 invalid_grant for a revoked or unknown key.
    throw answer.status === 400
      ? new MetricError('auth', {
          ...context,
          status: 400,
          message: `stackdriver: the token endpoint refused the service-account key of ${key.client_email} (HTTP 400): ${excerpt(answer.body)}`,
        })
      : error;
  }
  const parsed = tokenSchema.safeParse(parseJsonBody(answer, context));
  if (!parsed.success) throw unexpectedAnswer(answer.body, context, 'an OAuth token answer');
  return { token: parsed.data.access_token, expiresInS: parsed.data.expires_in ?? 3600 };
}

const pointValueSchema = z.object({
  doubleValue: z.union([z.number(), z.string()]).optional(),
  int64Value: z.union([z.string(), z.number()]).optional(),
  boolValue: z.boolean().optional(),
});
const queryResponseSchema = z.object({
  timeSeriesData: z
    .array(z.object({ pointData: z.array(z.object({ values: z.array(pointValueSchema) })).optional() }))
    .optional(),
});

function pointNumber(value: z.output<typeof pointValueSchema>): number | undefined {
  if (value.doubleValue !== undefined) return Number(value.doubleValue); // "NaN"/"Infinity" as strings
  if (value.int64Value !== undefined) return Number(value.int64Value);
  if (value.boolValue !== undefined) return value.boolValue ? 1 : 0;
  return undefined;
}

/** The newest point (the first, as Cloud Monitoring orders them) of each series. */
export function stackdriverResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'stackdriver', query };
  const answer = parseAnswer(queryResponseSchema, body, context, 'a timeSeries.query answer');
  const values: number[] = [];
  for (const series of answer.timeSeriesData ?? []) {
    const first = series.pointData?.[0]?.values[0];
    const value = first === undefined ? undefined : pointNumber(first);
    if (value !== undefined) values.push(value);
  }
  return toMetricValue(values, context);
}

const googleErrorSchema = z.object({
  error: z.object({ message: z.string(), status: z.string().optional() }),
});
const googleErrorDetail = errorDetail(
  googleErrorSchema,
  (body) => `${body.error.status ?? 'error'}: ${body.error.message}`,
);

export function createStackdriverProvider(config: StackdriverConfig): MetricProvider {
  const address = httpAddress(
    config.address || STACKDRIVER_DEFAULT_ADDRESS,
    'stackdriver',
    STACKDRIVER_DEFAULT_ADDRESS,
  );
  if (!/^[a-z0-9][a-z0-9.:-]*$/i.test(config.project)) {
    throw new Error(`stackdriver provider: project "${config.project}" is not a Google Cloud project id`);
  }
  const key =
    config.serviceAccountKey === undefined ? undefined : parseServiceAccountKey(config.serviceAccountKey);
  const now = config.now ?? Date.now;
  const tokens = config.tokens ?? defaultTokens;
  const url = `${address}/v3/projects/${encodeURIComponent(config.project)}/timeSeries:query`;

  async function accessToken(options: QueryOptions | undefined): Promise<string> {
    if (!key) {
      try {
        // Loaded only for the controller's own identity: most installations never need it.
        const { GoogleAuth } = await import('google-auth-library');
        const auth = new GoogleAuth({ scopes: [MONITORING_READ_SCOPE] });
        const token = await auth.getAccessToken();
        if (token) return token;
      } catch (error) {
        throw new MetricError('auth', {
          provider: 'stackdriver',
          query: 'application default credentials',
          cause: error,
          message: `stackdriver: no serviceAccountKey in the Secret, and the controller's own Google identity is not available (${error instanceof Error ? error.message : String(error)})`,
        });
      }
      throw new MetricError('auth', {
        provider: 'stackdriver',
        query: 'application default credentials',
        message: 'stackdriver: application default credentials gave no access token',
      });
    }
    const cacheKey = createHash('sha256')
      .update(`${key.token_uri}\n${key.client_email}\n${key.private_key}`)
      .digest('hex');
    const cached = tokens.get(cacheKey);
    if (cached && cached.expiresAtMs - 60_000 > now()) return cached.token;
    const { token, expiresInS } = await exchangeKey(key, now(), options);
    tokens.set(cacheKey, { token, expiresAtMs: now() + expiresInS * 1000 });
    return token;
  }

  async function query(mql: string, options: QueryOptions | undefined): Promise<unknown> {
    const token = await accessToken(options);
    return jsonCall(
      {
        url,
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: mql }),
        insecureSkipVerify: config.insecureSkipVerify,
      },
      { provider: 'stackdriver', query: mql },
      options,
      googleErrorDetail,
    );
  }

  return {
    type: 'stackdriver',
    async runQuery(rawQuery, options) {
      // MQL is line-oriented (`| align …`): sent as written.
      const mql = rawQuery.trim();
      return stackdriverResultToValue(await query(mql, options), mql);
    },
    // As Flagger: an empty query must be refused as INVALID_ARGUMENT (400) — which proves
    // the token and the project's permission are good; 401/403 are not.
    isOnline: (options) => probeRefusedAsInvalid(() => query('', options)),
  };
}
