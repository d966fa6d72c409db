import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureDeployTools, find, flattenRules, helm, helmTemplate, key, kustomizeBuild } from './render.ts';
import { RoleObject, templateArgs, workloads, type Manifest } from './render.ts';

// The web dashboard and the Slack buttons as install options: the kustomize component
// (deploy/overlays/dashboard) and the chart's dashboard.* and chatops.* values.

let base: Manifest[];
let overlay: Manifest[];
let chart: Manifest[];

beforeAll(async () => {
  await ensureDeployTools();
  [base, overlay, chart] = await Promise.all([
    kustomizeBuild(''),
    kustomizeBuild('overlays/dashboard'),
    helmTemplate({ values: ['ci/dashboard-values.yaml'] }),
  ]);
}, 900_000);

const controller = (manifests: Manifest[]) => workloads(manifests).find((w) => w.kind === 'Deployment')!;
const container = (manifests: Manifest[]) =>
  controller(manifests).spec.template.spec.containers[0]! as ReturnType<
    typeof controller
  >['spec']['template']['spec']['containers'][0] & {
    ports?: unknown[];
    volumeMounts?: unknown[];
  };
const rules = (manifest: Manifest) => flattenRules(RoleObject.parse(manifest).rules);

describe('the dashboard as an install option', () => {
  it('kustomize: the overlay adds the flag, the port, a Service and the RBAC the dashboard needs, nothing else', () => {
    expect(container(overlay).args).toContain('--dashboard-address=0.0.0.0:9090');
    expect(container(overlay).ports).toContainEqual({
      name: 'http-dashboard',
      containerPort: 9090,
      protocol: 'TCP',
    });
    const service = find(overlay, 'Service', 'sluice-dashboard') as Manifest & {
      spec: { ports: { port: number; targetPort: string }[]; selector: Record<string, string> };
    };
    expect(service.metadata.namespace).toBe('sluice-system');
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 'http-dashboard' })]);
    expect(rules(find(overlay, 'ClusterRole', 'sluice-dashboard'))).toEqual([
      'authentication.k8s.io/tokenreviews:create',
      'authorization.k8s.io/subjectaccessreviews:create',
      'core/events:list',
      'core/events:watch',
    ]);
    const added = overlay.map(key).filter((k) => !base.map(key).includes(k));
    expect(added.sort()).toEqual([
      'ClusterRole/sluice-dashboard',
      'ClusterRoleBinding/sluice-dashboard',
      'Service/sluice-system/sluice-dashboard',
    ]);
  });

  it('helm: dashboard.* and chatops.* render the flags, the Service, the Secret mount and the RBAC', () => {
    const args = container(chart).args ?? [];
    expect(args).toEqual(
      expect.arrayContaining([
        '--dashboard-address=0.0.0.0:9090',
        '--dashboard-read-only',
        '--slack-signing-secret-file=/etc/sluice/slack/signing-secret',
        '--slack-users-file=/etc/sluice/slack/users.yaml',
      ]),
    );
    expect(container(chart).volumeMounts).toContainEqual({
      name: 'slack-chatops',
      mountPath: '/etc/sluice/slack',
      readOnly: true,
    });
    const secret = find(chart, 'Secret', 'sluice-slack-chatops') as Manifest & {
      stringData: Record<string, string>;
    };
    expect(parse(secret.stringData['users.yaml']!)).toEqual({ U012ALICE: 'all', U034BOB: ['pause'] });
    expect(secret.stringData['signing-secret']).toBe('not-a-real-secret');
    const service = find(chart, 'Service', 'sluice-dashboard') as Manifest & {
      spec: { ports: { port: number }[] };
    };
    expect(service.spec.ports[0]?.port).toBe(8081);
    expect(rules(find(chart, 'ClusterRole'))).toEqual(
      expect.arrayContaining([
        'authentication.k8s.io/tokenreviews:create',
        'authorization.k8s.io/subjectaccessreviews:create',
        'core/events:watch',
      ]),
    );
  });

  it('helm: Slack buttons without a signing secret are refused at render time', async () => {
    await expect(helm(templateArgs({ set: ['chatops.slack.enabled=true'] }))).rejects.toThrow(
      /chatops.slack.enabled needs chatops.slack.signingSecret/,
    );
  });
});
