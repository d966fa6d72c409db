import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/process.ts';
import { spawnSluice, type SluiceChild } from '../../src/dev/stack.ts';
import type { Access, CanaryDetail, CanarySummary, StreamMessage } from '../../src/dashboard/api.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace, writeTokenKubeconfig } from '../support/kube.ts';
import { applyAsUser, sluice, startControllerProcess, type SluiceProcess } from '../support/sluice.ts';

// The dashboard's JSON API and live stream as served by the controller
// (--dashboard-address): reads for everyone, button presses only with a Kubernetes token
// whose user may patch the Canary (TokenReview + SubjectAccessReview on the real
// apiserver); and `sluice dashboard --read-only`, which refuses every press.

const ns = useNamespace('dash-api');
let controller: SluiceProcess;
let readOnly: SluiceChild;
let base: string;
let tokens: { viewer: string; operator: string };

const canary = (name: string) => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Canary',
  metadata: { name, namespace: ns.name },
  spec: {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
    service: { port: 9898 },
    analysis: {
      interval: '10s',
      stepWeights: [10, 50],
      metrics: [{ name: '<b>rate</b>', interval: '1m', query: 'vector(100)', thresholdRange: { min: 99 } }],
    },
  },
});

async function serviceAccountToken(name: string, canPatch: boolean): Promise<string> {
  await ns.kube.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name } } });
  if (canPatch) {
    await applyAsUser(ns.kube, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'canary-operator', namespace: ns.name },
      rules: [
        { apiGroups: ['sluice.dev'], resources: ['canaries'], verbs: ['get', 'list', 'watch', 'patch'] },
      ],
    });
    await applyAsUser(ns.kube, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${name}-operator`, namespace: ns.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'canary-operator' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns.name }],
    });
  }
  const token = await ns.kube.core.createNamespacedServiceAccountToken({
    name,
    namespace: ns.name,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  return token.status!.token!;
}

beforeAll(async () => {
  tokens = {
    viewer: await serviceAccountToken('viewer', false),
    operator: await serviceAccountToken('operator', true),
  };
  await applyAsUser(ns.kube, canary('podinfo'));
  const port = await freePort();
  controller = await startControllerProcess({
    namespace: ns.name,
    args: ['--no-leader-elect', '--dashboard-address', `127.0.0.1:${port}`],
  });
  base = `http://127.0.0.1:${port}`;
  const readOnlyPort = await freePort();
  readOnly = await spawnSluice({
    name: `dashboard-read-only-${ns.name}`,
    args: [
      'dashboard',
      '--kubeconfig',
      testEnv().kubeconfig,
      '-n',
      ns.name,
      '--port',
      String(readOnlyPort),
      '--read-only',
    ],
    logDir: `${testEnv().stateDir}/logs/${ns.name}`,
    port: readOnlyPort,
    readyPath: '/healthz',
  });
  await eventually(
    'the dashboard serving',
    async () => (await fetch(`${base}/api/config`).catch(() => undefined))?.ok,
  );
});

afterAll(async () => {
  await readOnly?.stop();
  await controller?.kill();
});

const get = async <T>(path: string, token?: string, origin = base) => {
  const response = await fetch(`${origin}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: (await response.json()) as T };
};

const press = (
  command: string,
  options: { token?: string; origin?: string; type?: string; at?: string } = {},
) =>
  fetch(`${options.at ?? base}/api/canaries/${ns.name}/podinfo/${command}`, {
    method: 'POST',
    headers: {
      'content-type': options.type ?? 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.origin ? { origin: options.origin } : {}),
    },
    body: '{}',
  });

async function commandAnnotation(): Promise<string | undefined> {
  const object = (await ns.kube.wire.getObject({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: ns.name },
  })) as { metadata: { annotations?: Record<string, string> } };
  return object.metadata.annotations?.['sluice.dev/command'];
}

describe('the dashboard API served by the controller', () => {
  it('lists and details canaries as JSON, user input kept as data', async () => {
    const list = await get<{ items: CanarySummary[] }>('/api/canaries');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        key: `${ns.name}/podinfo`,
        stepWeights: [10, 50],
        maxWeight: 50,
        strategy: 'canary',
      }),
    ]);
    expect((await get<{ items: unknown[] }>(`/api/canaries?phase=Succeeded`)).body.items).toEqual([]);
    const detail = await get<CanaryDetail>(`/api/canaries/${ns.name}/podinfo`);
    expect(detail.status).toBe(200);
    expect(detail.body.limits).toEqual({ '<b>rate</b>': { min: 99 } });
    expect(detail.body.interval).toBe('10s');
    expect((await get<{ error: string }>(`/api/canaries/${ns.name}/missing`)).status).toBe(404);
    const page = await fetch(`${base}/canaries/${ns.name}/podinfo`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="app"></div>');
  });

  it('streams a new canary to an open page as it appears', async () => {
    const controllerAbort = new AbortController();
    const response = await fetch(`${base}/api/stream`, { signal: controllerAbort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    await applyAsUser(ns.kube, canary('second'));
    let text = '';
    const deadline = Date.now() + 15_000;
    const seen = (): StreamMessage | undefined =>
      text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as StreamMessage)
        .find((m) => m.type === 'canary' && m.summary.name === 'second');
    while (!seen() && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controllerAbort.abort();
    expect(seen()).toMatchObject({ type: 'canary', summary: { key: `${ns.name}/second`, phase: 'Pending' } });
  });

  it('says why the buttons are unavailable, and refuses a press without the right', async () => {
    const none = await get<Access>(`/api/canaries/${ns.name}/podinfo/access`);
    expect(none.body).toMatchObject({ allowed: false, reason: expect.stringContaining('Kubernetes token') });
    const viewer = await get<Access>(`/api/canaries/${ns.name}/podinfo/access`, tokens.viewer);
    expect(viewer.body).toEqual({
      allowed: false,
      user: `system:serviceaccount:${ns.name}:viewer`,
      reason: `system:serviceaccount:${ns.name}:viewer may not patch canary ${ns.name}/podinfo (RBAC: patch on canaries.sluice.dev)`,
    });
    const bogus = await get<Access>(`/api/canaries/${ns.name}/podinfo/access`, 'not-a-token');
    expect(bogus.body).toMatchObject({ allowed: false, reason: expect.stringContaining('not accepted') });

    expect((await press('pause')).status).toBe(403);
    expect((await press('pause', { token: tokens.viewer })).status).toBe(403);
    expect(await commandAnnotation()).toBeUndefined();
  });

  it('carries out a press by a user who may patch the canary, and records who', async () => {
    // A page of another site, or a form post, never gets through.
    expect((await press('pause', { token: tokens.operator, origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect((await press('pause', { token: tokens.operator, type: 'text/plain' })).status).toBe(415);
    expect(await commandAnnotation()).toBeUndefined();

    const access = await get<Access>(`/api/canaries/${ns.name}/podinfo/access`, tokens.operator);
    expect(access.body).toEqual({
      allowed: true,
      reason: '',
      user: `system:serviceaccount:${ns.name}:operator`,
    });
    const response = await press('pause', { token: tokens.operator });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { message: string }).message).toBe(
      `pause requested for canary ${ns.name}/podinfo by system:serviceaccount:${ns.name}:operator`,
    );
    expect(await commandAnnotation()).toBe('pause');
    await eventually('the timeline says who asked', async () => {
      const detail = await get<CanaryDetail>(`/api/canaries/${ns.name}/podinfo`);
      return detail.body.timeline.find(
        (t) => t.reason === 'CommandRequested' && t.by === `system:serviceaccount:${ns.name}:operator`,
      );
    });
  });

  it('sluice dashboard --read-only refuses every press', async () => {
    const at = `http://127.0.0.1:${readOnly.port}`;
    expect((await get<{ readOnly: boolean; auth: string }>('/api/config', undefined, at)).body).toMatchObject(
      {
        readOnly: true,
        auth: 'kubeconfig',
      },
    );
    const response = await press('abort', { at });
    expect(response.status).toBe(405);
    expect(((await response.json()) as { error: string }).error).toContain('read-only');
    expect(await commandAnnotation()).toBe('pause');
  });

  it('sluice dashboard fails at start, naming the scope, where its user may not list canaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-dash-viewer-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await writeTokenKubeconfig(kubeconfig, tokens.viewer);
      const result = await sluice(['dashboard', '-A', '--kubeconfig', kubeconfig, '--port', '0'], {
        timeoutMs: 30_000,
      });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('cannot list canaries in all namespaces');
      expect(result.stderr).toContain('pass -n NS');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
