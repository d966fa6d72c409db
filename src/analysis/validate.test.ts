import { describe, expect, it } from 'vitest';
import { validateMetricChecks, validateMetricTemplate } from './validate.ts';

describe('validateMetricChecks', () => {
  it('accepts valid checks', () => {
    expect(
      validateMetricChecks([
        { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 99 } },
        {
          name: 'ratio',
          query: 'x{ns="{{ namespace }}",d="{{ variables.d }}"}',
          templateVariables: { d: 'in' },
          successCondition: 'result >= 0.95',
        },
      ]),
    ).toEqual([]);
  });

  it('refuses an inline query whose variable would change its shape (issue 16 §5)', () => {
    expect(
      validateMetricChecks([
        {
          name: 'q',
          query: 'sum by ({{ variables.by }}) (up)',
          templateVariables: { by: 'le) (up) or vector(1' },
        },
        {
          name: 'ok',
          query: 'up{a="{{ variables.by }}"}',
          templateVariables: { by: 'le) (up) or vector(1' },
        },
      ]),
    ).toEqual([
      {
        path: 'spec.analysis.metrics[0].query',
        message: expect.stringMatching(
          /the value of variables\.by, .* stands outside a quoted string, where it must be a PromQL name, number or duration/,
        ),
      },
    ]);
  });

  it('names the field and the problem of each invalid check', () => {
    expect(
      validateMetricChecks([
        { name: 'a', successCondition: 'result >=', failureCondition: 'value > 1.0' },
        { name: 'b', query: 'x{d="{{ variables.d }}"}', interval: 'soon' },
      ]),
    ).toEqual([
      {
        path: 'spec.analysis.metrics[0].successCondition',
        message: expect.stringMatching(/^CEL expression "result >=" is not valid: at 1:/),
      },
      {
        path: 'spec.analysis.metrics[0].failureCondition',
        message: 'CEL expression "value > 1.0": unknown variable "value" (available: result, results)',
      },
      {
        path: 'spec.analysis.metrics[1].query',
        message:
          'query: query uses {{ variables.d }} but the metric\'s templateVariables has no "d" (none are set)',
      },
      {
        path: 'spec.analysis.metrics[1].interval',
        message: '"soon" is not a positive duration such as 30s or 1m',
      },
    ]);
  });
});

describe('validateMetricTemplate', () => {
  it('checks query, web templates and default conditions', () => {
    expect(
      validateMetricTemplate({
        metadata: { name: 't' },
        spec: {
          provider: { type: 'web' },
          web: { url: 'http://x/{{ targt }}', jsonPath: '$.v', headers: { A: '{{ namespace }}' } },
          successCondition: 'result',
        },
      }),
    ).toEqual([
      { path: 'spec.web.url', message: expect.stringMatching(/"targt" is not a template variable/) },
      { path: 'spec.successCondition', message: expect.stringMatching(/must evaluate to true or false/) },
    ]);
    expect(
      validateMetricTemplate({ metadata: { name: 't' }, spec: { query: 'up{a="{{ variables.any }}"}' } }),
    ).toEqual([]);
  });
});
