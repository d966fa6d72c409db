import type { SignatureV4 } from '@smithy/signature-v4';
import { z } from 'zod';
import { httpAddress, jsonCall, probeRefusedAsInvalid, errorDetail, parseAnswer } from './http.ts';
import type { HttpProviderConfig } from './http.ts';
import { MetricError, excerpt, toMetricValue, lookbackWindow } from './provider.ts';
import type { MetricProvider, MetricValue, QueryOptions, WindowedConfig } from './provider.ts';

// Amazon CloudWatch GetMetricData, as Flagger: the query is a JSON list of MetricDataQuery
// (Id, Expression or MetricStat, ReturnData, …) sent over CloudWatch's documented JSON
// protocol (POST / with `X-Amz-Target: GraniteServiceVersion20100801.GetMetricData`),
// signed with AWS Signature Version 4 by @smithy/signature-v4. The window is ten metric
// intervals; each returned result's newest value is one value.

const MAX_DATAPOINTS = 20;
const TARGET = 'GraniteServiceVersion20100801.GetMetricData';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `address` defaults to https://monitoring.<region>.amazonaws.com. */
export interface CloudWatchConfig extends HttpProviderConfig, WindowedConfig {
  region: string;
  /** From the Secret; absent: the controller's own AWS identity (env, IRSA, …). */
  credentials?: AwsCredentials;
}

const metricDataQuerySchema = z.looseObject({ Id: z.string().min(1) });

/** The template's query: a JSON list of MetricDataQuery, each with an Id. */
export function parseMetricDataQueries(query: string): unknown[] {
  const context = { provider: 'cloudwatch', query };
  let json: unknown;
  try {
    json = JSON.parse(query);
  } catch (error) {
    throw new MetricError('query', {
      ...context,
      cause: error,
      message: `cloudwatch: the query is not JSON (a list of MetricDataQuery): ${error instanceof Error ? error.message : String(error)}: ${query}`,
    });
  }
  const parsed = z.array(metricDataQuerySchema).min(1).safeParse(json);
  if (!parsed.success) {
    throw new MetricError('query', {
      ...context,
      message: `cloudwatch: the query must be a non-empty JSON list of MetricDataQuery, each with an Id: ${query}`,
    });
  }
  return parsed.data;
}

const responseSchema = z.object({
  MetricDataResults: z.array(
    z.object({
      Id: z.string().optional(),
      StatusCode: z.string().optional(),
      Timestamps: z.array(z.number()).optional(),
      Values: z.array(z.number()).optional(),
    }),
  ),
  Messages: z.array(z.object({ Code: z.string().optional(), Value: z.string().optional() })).optional(),
});

/** The newest value of each returned result (by its timestamps; CloudWatch sorts newest first). */
export function cloudWatchResultToValue(body: unknown, query: string): MetricValue {
  const context = { provider: 'cloudwatch', query };
  const answer = parseAnswer(responseSchema, body, context, 'a GetMetricData answer');
  const values: number[] = [];
  for (const result of answer.MetricDataResults) {
    if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
      const messages = (answer.Messages ?? [])
        .map((m) => m.Value)
        .filter(Boolean)
        .join('; ');
      throw new MetricError('query', {
        ...context,
        message: `cloudwatch: result ${result.Id ?? '?'} is ${result.StatusCode}${messages ? ` (${messages})` : ''}: ${query}`,
      });
    }
    const resultValues = result.Values ?? [];
    if (resultValues.length === 0) continue;
    const stamps = result.Timestamps ?? [];
    let newest = 0;
    for (let i = 1; i < resultValues.length; i += 1) {
      if ((stamps[i] ?? -Infinity) > (stamps[newest] ?? -Infinity)) newest = i;
    }
    values.push(resultValues[newest] as number);
  }
  return toMetricValue(values, context);
}

const awsErrorSchema = z.object({
  __type: z.string().optional(),
  message: z.string().optional(),
  Message: z.string().optional(),
});
const awsErrorDetail = errorDetail(awsErrorSchema, (error) => {
  const type = error.__type?.split('#').pop();
  return [type, error.message ?? error.Message].filter(Boolean).join(': ') || undefined;
});

export function createCloudWatchProvider(config: CloudWatchConfig): MetricProvider {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(config.region)) {
    throw new Error(`cloudwatch provider: region "${config.region}" is not an AWS region (e.g. eu-west-1)`);
  }
  const address = httpAddress(
    config.address || `https://monitoring.${config.region}.amazonaws.com`,
    'cloudwatch',
    `https://monitoring.${config.region}.amazonaws.com`,
  );
  const url = new URL(`${address}/`);
  // The AWS SDK is loaded at the first query: a controller that never queries CloudWatch
  // does not carry it (docs/performance.md, "Where the memory goes").
  let signing: Promise<SignatureV4> | undefined;
  const signer = () =>
    (signing ??= Promise.all([
      import('@aws-sdk/credential-provider-node'),
      import('@smithy/hash-node'),
      import('@smithy/signature-v4'),
    ]).then(
      ([{ defaultProvider }, { Hash }, { SignatureV4 }]) =>
        new SignatureV4({
          credentials: config.credentials ?? defaultProvider(),
          region: config.region,
          service: 'monitoring',
          sha256: Hash.bind(null, 'sha256'),
        }),
    ));
  const { now, lookbackSeconds } = lookbackWindow(config);

  async function getMetricData(
    input: Record<string, unknown>,
    query: string,
    options?: QueryOptions,
  ): Promise<unknown> {
    const context = { provider: 'cloudwatch', query };
    const body = JSON.stringify(input);
    let signed;
    try {
      signed = await (
        await signer()
      ).sign({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-encoding': 'amz-1.0',
          accept: 'application/json',
          'x-amz-target': TARGET,
        },
        body,
      });
    } catch (error) {
      throw new MetricError('auth', {
        ...context,
        cause: error,
        message: `cloudwatch: no AWS credentials to sign with (no Secret, and the controller has no AWS identity): ${excerpt(error instanceof Error ? error.message : String(error))}`,
      });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers))
      if (name !== 'host') headers[name] = String(value);
    return jsonCall(
      { url: url.toString(), method: 'POST', headers, body, insecureSkipVerify: config.insecureSkipVerify },
      context,
      options,
      awsErrorDetail,
    );
  }

  return {
    type: 'cloudwatch',
    async runQuery(rawQuery, options) {
      const query = rawQuery.trim();
      const queries = parseMetricDataQueries(query);
      const end = Math.floor(now() / 1000);
      const body = await getMetricData(
        {
          MetricDataQueries: queries,
          StartTime: end - lookbackSeconds,
          EndTime: end,
          MaxDatapoints: MAX_DATAPOINTS,
          ScanBy: 'TimestampDescending',
        },
        query,
        options,
      );
      return cloudWatchResultToValue(body, query);
    },
    // As Flagger: a request with no queries must be refused as invalid (400), which CloudWatch
    // only says after it accepted the signature and the permission; 403 means it did not.
    isOnline: (options) => {
      const end = Math.floor(now() / 1000);
      return probeRefusedAsInvalid(() =>
        getMetricData(
          { MetricDataQueries: [], StartTime: end - 60, EndTime: end },
          'GetMetricData with no queries',
          options,
        ),
      );
    },
  };
}
