import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAlertProvider, parseCanary, parseMetricTemplate } from '../api/validate.ts';
import { migrate } from './migrate.ts';

const flaggerCanary = `
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: istio
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
    targetPort: http
    gateways: [public-gateway]
    hosts: [app.example.com]
    trafficPolicy:
      tls:
        mode: DISABLE
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 10
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 1m
    webhooks:
      - name: load-test
        url: http://flagger-loadtester.test/
        timeout: 5s
        metadata:
          cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"
`;

function documents(text: string): unknown[] {
  return parseAllDocuments(text).map((document) => document.toJS());
}

describe('migrate', () => {
  it('changes the apiVersion and keeps every field as written', () => {
    const { output, reports } = migrate(flaggerCanary);
    const input = parse(flaggerCanary) as { spec: unknown; metadata: unknown };
    const [result] = documents(output) as {
      apiVersion: string;
      kind: string;
      spec: unknown;
      metadata: unknown;
    }[];
    expect(reports).toEqual([]);
    expect(result?.apiVersion).toBe('sluice.dev/v1alpha1');
    expect(result?.kind).toBe('Canary');
    expect(result?.metadata).toEqual(input.metadata);
    expect(result?.spec).toEqual(input.spec);
    expect(parseCanary(result).ok).toBe(true);
  });

  it('writes plain YAML without comments, one document per object', () => {
    const { output } = migrate(
      `# a comment\n${flaggerCanary}---\n# another\n${flaggerCanary.replace('podinfo\n  namespace', 'second\n  namespace')}`,
    );
    expect(output).not.toContain('#');
    expect(documents(output)).toHaveLength(2);
    expect(output.split('\n---\n')).toHaveLength(2);
  });

  it('reports and drops fields Sluice does not know, and server-set metadata and status', () => {
    const input = flaggerCanary
      .replace('  provider: istio', '  provider: istio\n  frobnicate: true')
      .replace('    threshold: 5', '    threshold: 5\n    fancyMode: on')
      .replace('  namespace: test', '  namespace: test\n  uid: 123\n  resourceVersion: "42"')
      .concat('status:\n  phase: Succeeded\n');
    const { output, reports } = migrate(input);
    expect(reports).toEqual([
      'Canary test/podinfo: status: not migrated; Sluice builds its own',
      'Canary test/podinfo: metadata.uid: set by the apiserver; dropped',
      'Canary test/podinfo: metadata.resourceVersion: set by the apiserver; dropped',
      'Canary test/podinfo: spec.frobnicate: not a field of the Sluice Canary; dropped',
      'Canary test/podinfo: spec.analysis.fancyMode: not a field of the Sluice Canary; dropped',
    ]);
    expect(output).not.toMatch(/frobnicate|fancyMode|status|uid/);
  });

  it('rewrites Flagger spellings to what they mean in Flagger, and says so', () => {
    const input = flaggerCanary
      .replace('  analysis:\n    interval: 1m', '  canaryAnalysis:\n    interval: 5s')
      .replace('threshold: 5', 'threshold: 0')
      .replace('      - name: load-test\n', '      - name: load-test\n        type: ""\n')
      .concat(
        '    alerts:\n      - name: team\n        severity: ""\n        providerRef:\n          name: slack\n',
      );
    const { output, reports } = migrate(input);
    const [result] = documents(output) as {
      spec: { analysis: Record<string, unknown> & { webhooks: { type: string }[] } };
    }[];
    expect(result?.spec.analysis.interval).toBe('10s');
    expect(result?.spec.analysis.threshold).toBe(1);
    expect(result?.spec.analysis.webhooks[0]?.type).toBe('rollout');
    expect(reports).toEqual([
      'Canary test/podinfo: spec.canaryAnalysis: deprecated by Flagger; renamed to spec.analysis',
      'Canary test/podinfo: spec.analysis.interval: Flagger raises 5s to 10s; written as 10s',
      'Canary test/podinfo: spec.analysis.threshold: 0 means 1 in Flagger; written as 1',
      'Canary test/podinfo: spec.analysis.webhooks[0].type: empty means rollout in Flagger; written as rollout',
      'Canary test/podinfo: spec.analysis.alerts[0].severity: empty means info in Flagger; written as info',
    ]);
    expect(parseCanary(result).ok).toBe(true);
  });

  it('keeps unsupported providers and says what will happen; rewrites gatewayapi:v1beta1', () => {
    const { reports } = migrate(flaggerCanary.replace('provider: istio', 'provider: appmesh:v1beta2'));
    expect(reports).toEqual([
      'Canary test/podinfo: spec.provider: "appmesh:v1beta2" is not supported (App Mesh is not a provider Sluice routes); expected one of istio, gatewayapi, gatewayapi:v1, smi, linkerd, osm, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, nginx, kubernetes, contour, traefik, kuma, apisix, gloo, skipper, knative (smi:<version> may end in :<mesh>); kept, and the controller marks the Canary Stalled until it is changed',
      'Canary test/podinfo: still needs a fix before Sluice serves it: Canary test/podinfo is invalid: spec.provider: "appmesh:v1beta2" is not supported (App Mesh is not a provider Sluice routes); expected one of istio, gatewayapi, gatewayapi:v1, smi, linkerd, osm, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, nginx, kubernetes, contour, traefik, kuma, apisix, gloo, skipper, knative (smi:<version> may end in :<mesh>)',
    ]);
    const gateway = migrate(flaggerCanary.replace('provider: istio', 'provider: gatewayapi:v1beta1'));
    expect(gateway.reports[0]).toBe(
      'Canary test/podinfo: spec.provider: "gatewayapi:v1beta1" written as gatewayapi (Sluice writes the same HTTPRoute at gateway.networking.k8s.io/v1)',
    );
    expect(gateway.output).toContain('provider: gatewayapi\n');
  });

  it('points references to Flagger kinds at Sluice’s', () => {
    const { output, reports } = migrate(
      flaggerCanary.replace(
        '        interval: 1m\n    webhooks:',
        '        interval: 1m\n      - name: errors\n        templateRef: {name: errors, apiVersion: flagger.app/v1beta1, kind: MetricTemplate}\n    webhooks:',
      ),
    );
    expect(reports).toEqual([
      'Canary test/podinfo: spec.analysis.metrics[1].templateRef.apiVersion: flagger.app/v1beta1 written as sluice.dev/v1alpha1',
    ]);
    expect(parseCanary(documents(output)[0]).ok).toBe(true);
  });

  it('migrates MetricTemplates and AlertProviders', () => {
    const { output, reports } = migrate(`
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: latency, namespace: test}
spec:
  provider: {type: newrelic, secretRef: {name: nr}}
  query: SELECT count(*) FROM Transaction
---
apiVersion: flagger.app/v1beta1
kind: AlertProvider
metadata: {name: chat, namespace: test}
spec: {type: gchat, secretRef: {name: chat-url}}
---
apiVersion: flagger.app/v1beta1
kind: AlertProvider
metadata: {name: rocket, namespace: test}
spec: {type: rocket, address: "https://rocket.test/hooks/x"}
`);
    const [template, chat, rocket] = documents(output);
    expect(parseMetricTemplate(template).ok).toBe(true);
    expect(parseAlertProvider(chat).ok && (chat as { spec: { type: string } }).spec.type).toBe('googlechat');
    expect(parseAlertProvider(rocket).ok).toBe(true);
    expect(reports).toEqual([
      'AlertProvider test/chat: spec.type: Flagger\'s "gchat" is "googlechat" in Sluice; written as googlechat',
      'AlertProvider test/rocket: spec.address: a webhook URL in clear text is kept; move it to a Secret (key "address") and use spec.secretRef',
    ]);
  });

  it('keeps a Flagger Slack provider with a bot token (Sluice posts with the Web API)', () => {
    const { output, reports } = migrate(`
apiVersion: flagger.app/v1beta1
kind: AlertProvider
metadata: {name: slack-bot, namespace: test}
spec: {type: slack, channel: C0123456789, username: flagger, secretRef: {name: slack-bot}}
`);
    const [bot] = documents(output);
    expect(parseAlertProvider(bot).ok).toBe(true);
    expect((bot as { spec: unknown }).spec).toEqual({
      type: 'slack',
      channel: 'C0123456789',
      username: 'flagger',
      secretRef: { name: 'slack-bot' },
    });
    expect(reports).toEqual([]);
  });

  it('refuses a metric provider type Flagger would silently query Prometheus for, and flags keptn case', () => {
    const template = (type: string, query: string) =>
      `apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: m, namespace: test}\nspec: {provider: {type: ${type}}, query: "${query}"}\n`;
    const unknown = migrate(template('appdynamics', 'x'));
    expect(unknown.reports[0]).toMatch(
      /^MetricTemplate test\/m: spec.provider.type: "appdynamics" is not a metric provider \(Flagger falls back to prometheus\); expected one of prometheus, datadog, web, cloudwatch, /,
    );
    expect(migrate(template('keptn', 'analysis/shop/slo/1m/app=Web')).reports).toEqual([
      'MetricTemplate test/m: spec.query: Flagger lowercases the whole keptn query; Sluice lowercases only the kind, so names and argument values keep their case',
    ]);
    expect(migrate(template('keptn', 'keptnmetric/shop/rt')).reports).toEqual([]);
  });

  it('passes other objects through unchanged and says so', () => {
    const deployment =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\nspec:\n  replicas: 2\n';
    const { output, reports } = migrate(deployment);
    expect(parse(output)).toEqual(parse(deployment));
    expect(reports).toEqual(['Deployment podinfo: not a Flagger object; passed through unchanged']);
  });

  it('reports what would still be rejected', () => {
    const { reports } = migrate(flaggerCanary.replace('maxWeight: 50', 'maxWeight: 5'));
    expect(reports).toEqual([
      'Canary test/podinfo: still needs a fix before Sluice serves it: Canary test/podinfo is invalid: spec.analysis.stepWeight must be <= spec.analysis.maxWeight',
    ]);
  });

  it('skips empty documents and fails on broken YAML naming the document', () => {
    expect(migrate('---\n---\n').output).toBe('');
    expect(() => migrate(`${flaggerCanary}---\nkind: [unclosed\n`)).toThrow(/^document 2: not valid YAML/);
  });
});
