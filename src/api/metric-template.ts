import { z } from 'zod';
import {
  LocalObjectReference,
  customResource,
  StringMap,
  celExpression,
  durationString,
  withRules,
} from './common.ts';
import { METRIC_PROVIDER_TYPES, metricProviderList } from './metric-providers.ts';
import { conditionsStatus } from './status.ts';

export { METRIC_PROVIDER_TYPES, type MetricProviderType } from './metric-providers.ts';

export const MetricTemplateProvider = z.object({
  type: z
    .enum(METRIC_PROVIDER_TYPES)
    .default('prometheus')
    .describe(`Where the query runs: ${metricProviderList()}`),
  address: z.string().optional().describe('Base URL of the metrics server'),
  secretRef: LocalObjectReference.optional().describe(
    'Secret with the credentials, in the template namespace (keys per provider type: docs/metrics.md)',
  ),
  region: z.string().optional().describe('AWS region (cloudwatch)'),
  insecureSkipVerify: z.boolean().optional().describe('Skip TLS certificate verification'),
});
export type MetricTemplateProvider = z.output<typeof MetricTemplateProvider>;

/** (Sluice) How the web provider calls a JSON HTTP API. */
export const WebQuery = z.object({
  url: z
    .string()
    .optional()
    .describe('Request URL, template variables allowed; defaults to provider.address'),
  method: z.enum(['GET', 'POST']).default('GET').describe('GET or POST'),
  headers: StringMap.optional().describe('Request headers (secrets belong in provider.secretRef)'),
  body: z.string().optional().describe('Request body for POST, template variables allowed'),
  jsonPath: z.string().min(1).describe('JSONPath of the number in the response, e.g. $.data.value'),
  timeout: durationString().optional().describe('Request timeout'),
});
export type WebQuery = z.output<typeof WebQuery>;

export const MetricTemplateSpec = withRules(
  z.object({
    provider: MetricTemplateProvider.describe('Where the query runs'),
    query: z.string().optional().describe('Query template: {{ namespace }}, {{ target }}, {{ interval }}, …'),
    web: WebQuery.optional().describe('(Sluice) request description for provider type web'),
    successCondition: celExpression()
      .optional()
      .describe('(Sluice) default CEL success condition for metrics using this template'),
    failureCondition: celExpression()
      .optional()
      .describe('(Sluice) default CEL failure condition for metrics using this template'),
  }),
  [
    {
      rule: "self.provider.type == 'web' || (has(self.query) && size(self.query) > 0)",
      message: 'spec.query is required unless spec.provider.type is web',
      fieldPath: '.query',
      check: (spec) => spec.provider.type === 'web' || Boolean(spec.query),
    },
    {
      rule: "self.provider.type != 'web' || has(self.web)",
      message: 'spec.web is required when spec.provider.type is web',
      fieldPath: '.web',
      check: (spec) => spec.provider.type !== 'web' || spec.web !== undefined,
    },
    {
      rule: "self.provider.type != 'cloudwatch' || (has(self.provider.region) && size(self.provider.region) > 0)",
      message: 'spec.provider.region is required for provider type cloudwatch (e.g. eu-west-1)',
      fieldPath: '.provider.region',
      check: (spec) => spec.provider.type !== 'cloudwatch' || Boolean(spec.provider.region),
    },
    {
      rule: '!has(self.web) || has(self.web.url) || has(self.provider.address)',
      message: 'spec.web.url or spec.provider.address is required for the web provider',
      fieldPath: '.web',
      check: (spec) => spec.web === undefined || Boolean(spec.web.url ?? spec.provider.address),
    },
  ],
);
export type MetricTemplateSpec = z.output<typeof MetricTemplateSpec>;

export const MetricTemplateStatus = conditionsStatus('template');

export const MetricTemplate = customResource('MetricTemplate', MetricTemplateSpec, MetricTemplateStatus);
export type MetricTemplate = z.output<typeof MetricTemplate>;
