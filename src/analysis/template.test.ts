import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TemplateRenderError,
  checkTemplate,
  promqlRange,
  renderTemplate,
  templateModel,
  type TemplateModel,
} from './template.ts';
import { thrownBy } from '../../test/support/thrown.ts';

const model: TemplateModel = templateModel(
  { name: 'podinfo', namespace: 'test', target: 'podinfo-app', service: 'podinfo-svc' },
  '1m',
  { cluster: 'dev', consumer_group: 'my_consumer', 'with-dash': 'x' },
);

const renderError = (text: string, variables?: TemplateModel['variables']) =>
  thrownBy(TemplateRenderError, () =>
    renderTemplate(text, variables ? { ...model, variables } : model, 'MetricTemplate test/kafka'),
  );

describe('renderTemplate', () => {
  it('renders Flagger model functions', () => {
    expect(
      renderTemplate(
        'sum(envoy_cluster_upstream_rq{envoy_cluster_name=~"{{ namespace }}_{{ target }}"})',
        model,
        't',
      ),
    ).toBe('sum(envoy_cluster_upstream_rq{envoy_cluster_name=~"test_podinfo-app"})');
    expect(
      renderTemplate('{{name}} {{ service }} {{ ingress }} {{ route }} {{ interval }}', model, 't'),
    ).toBe('podinfo podinfo-svc podinfo-app podinfo-app 1m');
  });

  it('renders variables like Flagger', () => {
    const query =
      'delta(max by (consumer_group) (kafka_consumer_current_offset{cluster="{{ variables.cluster }}", consumer_group="{{ variables.consumer_group }}"}[{{ interval }}]))';
    expect(renderTemplate(query, model, 't')).toBe(
      'delta(max by (consumer_group) (kafka_consumer_current_offset{cluster="dev", consumer_group="my_consumer"}[1m]))',
    );
  });

  it('reads keys that are not identifiers through index', () => {
    expect(
      renderTemplate('{{ index variables "with-dash" }}/{{ index variables `cluster` }}', model, 't'),
    ).toBe('x/dev');
  });

  it('trims around {{- and -}} and drops comments', () => {
    expect(renderTemplate('a  \n {{- target -}} \n  b{{/* why */}}c', model, 't')).toBe('apodinfo-appbc');
  });

  it('names the template and the missing variable', () => {
    const error = renderError('x{cluster="{{ variables.cluster }}"}', {
      invalid: 'dev',
      consumer_group: 'g',
    });
    expect(error.message).toBe(
      'MetricTemplate test/kafka: query uses {{ variables.cluster }} but the metric\'s templateVariables has no "cluster" (set: invalid, consumer_group)',
    );
    expect(error.template).toBe('MetricTemplate test/kafka');
    expect(error.variable).toBe('cluster');
    expect(renderError('{{ variables.x }}', {}).message).toMatch(/has no "x" \(none are set\)/);
  });

  it('names an unknown template function', () => {
    const error = renderError('{{ namespaces }}');
    expect(error.message).toBe(
      'MetricTemplate test/kafka: query uses {{ namespaces }}: "namespaces" is not a template variable; use one of name, namespace, target, service, ingress, route, interval, pods, canaryPods, primaryPods, canaryRevision, primaryRevision, variables.<key>',
    );
    expect(error.variable).toBe('namespaces');
  });

  it('refuses Go template data access and pipelines it does not support', () => {
    expect(renderError('{{ .Namespace }}').message).toMatch(/\{\{ \.Namespace \}\}, which is not supported/);
    expect(renderError('{{ target | printf "%s" }}').message).toBe(
      'MetricTemplate test/kafka: query uses {{ target | printf "%s" }}, which is not supported; use one of name, namespace, target, service, ingress, route, interval, pods, canaryPods, primaryPods, canaryRevision, primaryRevision, variables.<key>',
    );
    expect(renderError('{{ variables }}').message).toMatch(/which is not supported/);
  });

  it('reports an unclosed action with its line', () => {
    expect(renderError('a\nb{{ target ').message).toBe(
      'MetricTemplate test/kafka: unclosed "{{" on line 2: {{ target ',
    );
  });

  it('leaves text without actions unchanged', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => !text.includes('{{')),
        (text) => {
          expect(renderTemplate(text, model, 't')).toBe(text);
        },
      ),
    );
  });
});

describe('renderTemplate with hostile values (issue 16 §5; properties in bench/security/escaping.ts)', () => {
  const hostile = (v: string, target = 'podinfo') =>
    templateModel({ name: 'c', namespace: 'test', target }, '1m', { v });

  it('escapes a value into the PromQL string it stands in', () => {
    expect(renderTemplate('x{a="{{ variables.v }}"}', hostile('"} or vector(1) #'), 't', 'promql')).toBe(
      String.raw`x{a="\"} or vector(1) #"}`,
    );
    expect(renderTemplate("x{a='{{ variables.v }}'}", hostile("it's \\ \n"), 't', 'promql')).toBe(
      String.raw`x{a='it\'s \\ \n'}`,
    );
    // A variable in a regex matcher stays a regex; a name there matches only itself.
    expect(renderTemplate('x{a=~"{{ variables.v }}"}', hostile('a|b.*'), 't', 'promql')).toBe(
      'x{a=~"a|b.*"}',
    );
    expect(renderTemplate('x{pod=~"{{ target }}-.+"}', hostile('', 'app.v2'), 't', 'promql')).toBe(
      String.raw`x{pod=~"app\\.v2-.+"}`,
    );
  });

  it('refuses a value outside quotes that is not one token, naming the variable', () => {
    let error: unknown;
    try {
      renderTemplate(
        'sum by ({{ variables.v }}) (up)',
        hostile('le) (up) or (vector(1)'),
        'MetricTemplate a/b',
        'promql',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as TemplateRenderError).variable).toBe('v');
    expect((error as TemplateRenderError).message).toMatch(
      /^MetricTemplate a\/b: the value of variables\.v, "le\) \(up\) or \(vector\(1\)", stands outside a quoted string, where it must be a PromQL name, number or duration/,
    );
    expect(renderTemplate('x > {{ variables.v }}', hostile('0.95'), 't', 'promql')).toBe('x > 0.95');
    expect(renderTemplate('{service:{{ target }}}', hostile('', 'my-app.v2'), 't', 'query')).toBe(
      '{service:my-app.v2}',
    );
    expect(() => renderTemplate('{service:{{ variables.v }}}', hostile('a,env:prod'), 't', 'query')).toThrow(
      /must be one word/,
    );
    expect(() => renderTemplate('up # {{ variables.v }}', hostile('x\nvector(1)'), 't', 'promql')).toThrow(
      /would end the comment/,
    );
    expect(() => renderTemplate('x{a=`{{ variables.v }}`}', hostile('`'), 't', 'promql')).toThrow(
      /backquote/,
    );
  });

  it('percent-encodes values in URLs and keeps them out of the path structure', () => {
    expect(
      renderTemplate('https://h/s/{{ variables.v }}?w={{ variables.v }}', hostile('a/b&c=d'), 't', 'url'),
    ).toBe('https://h/s/a%2Fb%26c%3Dd?w=a%2Fb%26c%3Dd');
    expect(() => renderTemplate('https://h/s/{{ variables.v }}/x', hostile('..'), 't', 'url')).toThrow(
      /would move the URL's path/,
    );
    expect(() => renderTemplate('{{ variables.v }}', hostile('a\r\nX-Evil: 1'), 't', 'header')).toThrow(
      /line break/,
    );
  });
});

describe('templateModel', () => {
  it('defaults service, ingress and route to the target and interval to 1m', () => {
    const defaults = templateModel({ name: 'c', namespace: 'n', target: 'app' }, undefined, undefined);
    expect(defaults).toEqual({
      name: 'c',
      namespace: 'n',
      target: 'app',
      service: 'app',
      ingress: 'app',
      route: 'app',
      interval: '1m',
      variables: {},
    });
  });

  it('writes the interval as a PromQL range', () => {
    expect(promqlRange('90s')).toBe('1m30s');
    expect(promqlRange('1.5m')).toBe('1m30s');
    expect(promqlRange('30s')).toBe('30s');
    expect(promqlRange('500ms')).toBe('500ms');
    expect(() => promqlRange('soon')).toThrowError(
      'metric interval "soon" is not a positive duration; expected e.g. 30s, 1m, 1h30m',
    );
    expect(() => promqlRange('0s')).toThrowError(/not a positive duration/);
  });
});

describe('checkTemplate', () => {
  it('accepts any variable name when the variables are not known yet', () => {
    expect(checkTemplate('{{ variables.anything }} {{ target }}')).toBeUndefined();
  });

  it('reports unknown functions and unclosed actions', () => {
    expect(checkTemplate('{{ targt }}')).toMatch(/"targt" is not a template variable/);
    expect(checkTemplate('{{ target')).toMatch(/unclosed/);
    expect(checkTemplate('{{ variables.a }}', {})).toMatch(/has no "a"/);
  });
});
