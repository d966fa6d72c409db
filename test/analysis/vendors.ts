import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { sendJson, serve, type LocalServer, type Received } from './servers.ts';

// Local servers that answer as each vendor's documented API does, and check what Sluice
// sends: the AWS SigV4 signature (recomputed here with the signer library), the Google
// JWT-bearer token exchange (the assertion verified with the key's public half), API keys.
// Each takes a `series` function: the query text → the values it "has" (one per series),
// `undefined` for a query the vendor would reject.

export type Series = (query: string) => (number | null)[][] | undefined;

// ---- AWS CloudWatch (JSON protocol) ---------------------------------------------------------

export const AWS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

/** Recomputes the request's SigV4 signature with the signer library; undefined when it matches. */
export async function sigV4Problem(request: Received, region: string): Promise<string | undefined> {
  const authorization = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return `not a SigV4 Authorization header: ${authorization}`;
  const [, keyId, , scopeRegion, service, signedHeaders] = match;
  if (keyId !== AWS.accessKeyId) return `unknown access key ${keyId}`;
  if (scopeRegion !== region || service !== 'monitoring') return `scope ${scopeRegion}/${service}`;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders ?? '').split(';')) headers[name] = String(request.headers[name] ?? '');
  const [hostname, port] = String(request.headers.host).split(':');
  const signer = new SignatureV4({
    credentials: AWS,
    region,
    service: 'monitoring',
    sha256: Hash.bind(null, 'sha256'),
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      ...(port ? { port: Number(port) } : {}),
      path: request.url.pathname,
      headers,
      body: request.body,
    },
    { signingDate },
  );
  return expected.headers.authorization === authorization ? undefined : 'signature does not match';
}

export function cloudWatchApi(region: string, series: Series): Promise<LocalServer> {
  return serve(async (request, response) => {
    const problem = await sigV4Problem(request, region);
    if (problem) {
      sendJson(response, 403, { __type: 'com.amazon.coral.service#SignatureDoesNotMatch', message: problem });
      return;
    }
    if (request.headers['x-amz-target'] !== 'GraniteServiceVersion20100801.GetMetricData') {
      sendJson(response, 400, { __type: '#UnknownOperationException', message: 'unknown target' });
      return;
    }
    const input = JSON.parse(request.body) as {
      MetricDataQueries: { Id: string; ReturnData?: boolean; Expression?: string }[];
      StartTime: number;
      EndTime: number;
    };
    if (input.MetricDataQueries.length === 0) {
      sendJson(response, 400, {
        __type: 'com.amazon.coral.validate#ValidationException',
        message: 'The parameter MetricDataQueries is required.',
      });
      return;
    }
    const returned = input.MetricDataQueries.filter((query) => query.ReturnData !== false);
    const results = [];
    for (const query of returned) {
      const values = series(query.Expression ?? query.Id);
      if (!values) {
        sendJson(response, 400, {
          __type: 'com.amazon.coral.validate#ValidationException',
          message: `Invalid metrics expression ${query.Expression}`,
        });
        return;
      }
      // One result per query; newest first, as CloudWatch's default TimestampDescending.
      const points = (values[0] ?? []).filter((value): value is number => value !== null).reverse();
      results.push({
        Id: query.Id,
        Label: query.Id,
        StatusCode: 'Complete',
        Timestamps: points.map((_, i) => input.EndTime - 60 * (i + 1)),
        Values: points,
      });
    }
    sendJson(response, 200, { MetricDataResults: results, Messages: [] });
  });
}

// ---- Google Cloud Monitoring + OAuth token endpoint ------------------------------------------

export function serviceAccount(tokenUri: string): { key: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    project_id: 'shop-prod',
    private_key_id: randomBytes(8).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'sluice@shop-prod.iam.gserviceaccount.com',
    client_id: '1234567890',
    token_uri: tokenUri,
  };
  return {
    key: JSON.stringify(key),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface GoogleApi extends LocalServer {
  /** Set once the server knows the key (the key names the server's own token URL). */
  trust(publicKey: string): void;
  tokensIssued(): number;
}

export async function googleMonitoringApi(project: string, series: Series): Promise<GoogleApi> {
  let publicKey = '';
  let issued = 0;
  const tokens = new Set<string>();
  const server = await serve((request, response) => {
    if (request.url.pathname === '/token') {
      const form = new URLSearchParams(request.body);
      const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
      const verified =
        form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
        header !== undefined &&
        signature !== undefined &&
        createVerify('RSA-SHA256')
          .update(`${header}.${claims}`)
          .verify(publicKey, Buffer.from(signature, 'base64url'));
      const body = verified
        ? (JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as Record<string, unknown>)
        : {};
      const now = Date.now() / 1000;
      if (
        !verified ||
        body.aud !== `${server.url}/token` ||
        body.scope !== 'https://www.googleapis.com/auth/monitoring.read' ||
        typeof body.exp !== 'number' ||
        body.exp < now
      ) {
        sendJson(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
        return;
      }
      issued += 1;
      const token = `ya29.${randomBytes(12).toString('hex')}`;
      tokens.add(token);
      sendJson(response, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (!bearer || !tokens.has(bearer)) {
      sendJson(response, 401, {
        error: {
          code: 401,
          message: 'Request had invalid authentication credentials.',
          status: 'UNAUTHENTICATED',
        },
      });
      return;
    }
    if (request.url.pathname !== `/v3/projects/${project}/timeSeries:query`) {
      sendJson(response, 403, {
        error: {
          code: 403,
          message: 'Permission monitoring.timeSeries.list denied',
          status: 'PERMISSION_DENIED',
        },
      });
      return;
    }
    const { query } = JSON.parse(request.body) as { query: string };
    const values = query ? series(query) : undefined;
    if (!values) {
      sendJson(response, 400, {
        error: { code: 400, message: 'Query is empty or could not be parsed.', status: 'INVALID_ARGUMENT' },
      });
      return;
    }
    sendJson(response, 200, {
      timeSeriesDescriptor: { pointDescriptors: [{ key: 'value', valueType: 'DOUBLE' }] },
      ...(values.length
        ? {
            timeSeriesData: values.map((points, i) => ({
              labelValues: [{ stringValue: `series-${i}` }],
              // Newest first, as Cloud Monitoring returns them.
              pointData: points
                .filter((value): value is number => value !== null)
                .reverse()
                .map((value) => ({ values: [{ doubleValue: value }], timeInterval: {} })),
            })),
          }
        : {}),
    });
  });
  return Object.assign(server, {
    trust: (key: string) => {
      publicKey = key;
    },
    tokensIssued: () => issued,
  });
}

// ---- Dynatrace, New Relic, Splunk -----------------------------------------------------------

export function dynatraceApi(token: string, series: Series): Promise<LocalServer> {
  return serve((request, response) => {
    if (request.headers.authorization !== `Api-Token ${token}`) {
      sendJson(response, 401, { error: { code: 401, message: 'Token Authentication failed' } });
      return;
    }
    if (request.url.pathname === '/api/v2/metrics') {
      sendJson(response, 200, { totalCount: 1, metrics: [{ metricId: 'builtin:service.response.time' }] });
      return;
    }
    const selector = request.url.searchParams.get('metricSelector') ?? '';
    const values = series(selector);
    if (!values || request.url.searchParams.get('resolution') !== 'Inf') {
      sendJson(response, 400, { error: { code: 400, message: `Cannot parse metric selector ${selector}` } });
      return;
    }
    sendJson(response, 200, {
      totalCount: values.length,
      resolution: 'Inf',
      result: [
        {
          metricId: selector,
          data: values.map((points, i) => ({
            dimensions: [`SERVICE-${i}`],
            dimensionMap: { 'dt.entity.service': `SERVICE-${i}` },
            timestamps: points.map((_, j) => Number(request.url.searchParams.get('to')) - j * 60_000),
            values: points,
          })),
        },
      ],
    });
  });
}

export function newRelicApi(
  accountId: string,
  keys: { queryKey: string; apiKey: string },
  series: Series,
): Promise<LocalServer> {
  const rows = (values: (number | null)[][]) =>
    values.map((points) => ({ result: points.findLast((value) => value !== null) ?? null }));
  return serve((request, response) => {
    if (request.url.pathname === '/graphql') {
      if (request.headers['api-key'] !== keys.apiKey) {
        sendJson(response, 200, {
          data: { actor: { account: null } },
          errors: [{ message: 'Invalid API key', extensions: { errorClass: 'UNAUTHORIZED' } }],
        });
        return;
      }
      const { variables } = JSON.parse(request.body) as { variables: { accountId: number; nrql?: string } };
      if (String(variables.accountId) !== accountId) {
        sendJson(response, 200, {
          data: { actor: { account: null } },
          errors: [{ message: 'Account not found' }],
        });
        return;
      }
      if (variables.nrql === undefined) {
        sendJson(response, 200, { data: { actor: { account: { id: Number(accountId) } } } });
        return;
      }
      const values = series(variables.nrql);
      if (!values) {
        sendJson(response, 200, {
          data: { actor: { account: { nrql: null } } },
          errors: [{ message: `NRQL Syntax Error: ${variables.nrql}` }],
        });
        return;
      }
      sendJson(response, 200, { data: { actor: { account: { nrql: { results: rows(values) } } } } });
      return;
    }
    if (
      request.url.pathname !== `/v1/accounts/${accountId}/query` ||
      request.headers['x-query-key'] !== keys.queryKey
    ) {
      sendJson(response, 403, { error: 'Invalid query key' });
      return;
    }
    const nrql = request.url.searchParams.get('nrql') ?? '';
    const values = series(nrql);
    if (!values) {
      sendJson(response, 400, { error: `NRQL Syntax Error: ${nrql}` });
      return;
    }
    sendJson(response, 200, { results: rows(values), metadata: { eventTypes: ['Metric'] } });
  });
}

function sse(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function signalFxApi(token: string, series: Series): Promise<LocalServer> {
  return serve((request, response) => {
    if (request.headers['x-sf-token'] !== token) {
      sendJson(response, 401, { code: 401, message: 'Unauthorized' });
      return;
    }
    if (request.url.pathname === '/v2/metric') {
      sendJson(response, 200, { count: 1, results: [{ name: 'traces.count' }] });
      return;
    }
    if (request.url.pathname !== '/v2/signalflow/execute' || request.method !== 'POST') {
      sendJson(response, 404, { message: 'not found' });
      return;
    }
    const start = Number(request.url.searchParams.get('start'));
    const stop = Number(request.url.searchParams.get('stop'));
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    sse(response, 'control-message', { event: 'STREAM_START', timestampMs: stop });
    const values = series(request.body);
    if (!values) {
      sse(response, 'error', {
        errors: [{ code: 'ANALYTICS_PROGRAM_NAME_ERROR', context: { program: request.body } }],
      });
      response.end();
      return;
    }
    sse(response, 'control-message', { event: 'JOB_START', handle: 'Ehandle', timestampMs: stop });
    values.forEach((_, i) =>
      sse(response, 'metadata', { tsId: `AAAA${i}`, properties: { sf_streamLabel: 'A' } }),
    );
    const steps = Math.max(...values.map((points) => points.length), 0);
    for (let step = 0; step < steps; step += 1) {
      sse(response, 'data', {
        logicalTimestampMs: start + step * 60_000,
        data: values.flatMap((points, i) =>
          step < points.length ? [{ tsId: `AAAA${i}`, value: points[step] }] : [],
        ),
      });
    }
    sse(response, 'control-message', { event: 'END_OF_CHANNEL', timestampMs: stop });
    // Like a live stream, leave the connection open: the client must stop at END_OF_CHANNEL.
  });
}

// ---- InfluxDB Flux (/api/v2/query, annotated CSV) -------------------------------------------

export function fluxApi(token: string, org: string, series: Series): Promise<LocalServer> {
  return serve((request, response) => {
    if (request.headers.authorization !== `Token ${token}`) {
      sendJson(response, 401, { code: 'unauthorized', message: 'unauthorized access' });
      return;
    }
    if (request.url.pathname !== '/api/v2/query' || request.url.searchParams.get('org') !== org) {
      sendJson(response, 404, {
        code: 'not found',
        message: `organization name "${request.url.searchParams.get('org')}" not found`,
      });
      return;
    }
    const { query, dialect } = JSON.parse(request.body) as {
      query: string;
      dialect?: { annotations?: string[] };
    };
    const values = series(query);
    if (!values) {
      sendJson(response, 400, {
        code: 'invalid',
        message: `compilation failed: error at @1:1-1:7: undefined identifier ${query.split('(')[0]}`,
      });
      return;
    }
    const annotated = (dialect?.annotations ?? []).includes('datatype');
    const lines = annotated
      ? [
          '#datatype,string,long,dateTime:RFC3339,double',
          '#group,false,false,false,false',
          '#default,_result,,,',
        ]
      : [];
    lines.push(',result,table,_time,_value');
    values.forEach((points, table) =>
      points.forEach((value, i) => lines.push(`,,${table},2026-01-01T00:0${i}:00Z,${value ?? ''}`)),
    );
    response
      .writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' })
      .end(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
