import { parseDuration } from '../api/duration.ts';
import { checkCelExpression } from './cel.ts';
import { checkTemplate } from './template.ts';
import type { MetricCheck, MetricTemplate } from './types.ts';

// What the analysis can find wrong in a Canary's metrics or a MetricTemplate before any
// query runs, for the controller to report (Stalled, Warning Event) when it first parses
// the object. Paths follow src/api's ValidationIssue (`spec.analysis.metrics[0].…`).

export interface AnalysisIssue {
  path: string;
  message: string;
}

/** Problems in `spec.analysis.metrics[]`: CEL conditions, inline query templates, intervals. */
export function validateMetricChecks(
  metrics: readonly MetricCheck[],
  basePath = 'spec.analysis.metrics',
): AnalysisIssue[] {
  const issues: AnalysisIssue[] = [];
  metrics.forEach((metric, index) => {
    const path = `${basePath}[${index}]`;
    for (const field of ['successCondition', 'failureCondition'] as const) {
      const expression = metric[field];
      const problem = expression === undefined ? undefined : checkCelExpression(expression);
      if (problem) issues.push({ path: `${path}.${field}`, message: problem });
    }
    if (metric.query !== undefined) {
      const problem = checkTemplate(metric.query, metric.templateVariables ?? {}, 'promql');
      if (problem) issues.push({ path: `${path}.query`, message: problem });
    }
    if (metric.interval !== undefined && !((parseDuration(metric.interval) ?? 0) > 0)) {
      issues.push({
        path: `${path}.interval`,
        message: `"${metric.interval}" is not a positive duration such as 30s or 1m`,
      });
    }
  });
  return issues;
}

/** Problems in a MetricTemplate's query templates and default conditions. */
export function validateMetricTemplate(template: MetricTemplate): AnalysisIssue[] {
  const issues: AnalysisIssue[] = [];
  const { spec } = template;
  const templates: [string, string | undefined][] = [
    ['spec.query', spec.query],
    ['spec.web.url', spec.web?.url],
    ['spec.web.body', spec.web?.body],
    ['spec.web.jsonPath', spec.web?.jsonPath],
    ...Object.entries(spec.web?.headers ?? {}).map(([name, value]): [string, string] => [
      `spec.web.headers.${name}`,
      value,
    ]),
  ];
  for (const [path, text] of templates) {
    const problem = text === undefined ? undefined : checkTemplate(text);
    if (problem) issues.push({ path, message: problem });
  }
  for (const field of ['successCondition', 'failureCondition'] as const) {
    const expression = spec[field];
    const problem = expression === undefined ? undefined : checkCelExpression(expression);
    if (problem) issues.push({ path: `spec.${field}`, message: problem });
  }
  return issues;
}
