import { describe, expect, it } from 'vitest';
import { renderTemplate, templateModel } from '../analysis/template.ts';
import { parseCanary } from '../api/validate.ts';
import { demoStatefulSetCanary, demoStatefulSetTemplates } from './demo-statefulset.ts';

describe('the StatefulSet demo', () => {
  it('has a Canary the schema accepts (no built-in metrics, no routing fields)', () => {
    const result = parseCanary(demoStatefulSetCanary('http://127.0.0.1:1', 'http://127.0.0.1:2'));
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it("measures the canary's pods only, by name, in the demo app's own series", () => {
    const arms = {
      canaryPods: 'podinfo-(3)',
      primaryPods: 'podinfo-(2|1|0)',
      canaryRevision: 'podinfo-new',
      primaryRevision: 'podinfo-old',
    };
    const model = templateModel(
      { name: 'podinfo', namespace: 'demo', target: 'podinfo', statefulSet: arms },
      '30s',
      {},
    );
    const [success, latency] = demoStatefulSetTemplates('http://127.0.0.1:9090').map((template) =>
      renderTemplate(template.spec.query, model, template.metadata.name, 'promql'),
    );
    expect(success).toBe(
      '(sum(rate(http_request_duration_seconds_count{namespace="demo", pod=~"podinfo-(3)", status!~"5.*"}[30s])) or vector(0))' +
        ' / sum(rate(http_request_duration_seconds_count{namespace="demo", pod=~"podinfo-(3)"}[30s])) * 100',
    );
    expect(latency).toContain(
      'http_request_duration_seconds_bucket{namespace="demo", pod=~"podinfo-(3)"}[30s]',
    );
  });
});
