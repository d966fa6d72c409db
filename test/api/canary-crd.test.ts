import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpMethod, type KubernetesObject } from '@kubernetes/client-node';
import { conditionsForPhase } from '../../src/api/conditions.ts';
import { renderCrds } from '../../src/api/crd.ts';
import { parseCanary } from '../../src/api/validate.ts';
import { apply } from '../../src/kube/client.ts';
import { CANARY_COLUMNS } from '../support/canaries.ts';
import { useNamespace } from '../support/kube.ts';

const ns = useNamespace('api-crd');
const root = join(import.meta.dirname, '..', '..');

type Stored = KubernetesObject & { spec: Record<string, unknown>; status?: Record<string, unknown> };

describe('the checked-in CRDs', () => {
  it('are what scripts/gen-crds.ts generates from the zod schemas', async () => {
    for (const { file, text } of renderCrds()) {
      expect(
        await readFile(join(root, 'crds', file), 'utf8'),
        `crds/${file} is stale: run npm run gen:crds`,
      ).toBe(text);
    }
  });
});

describe('defaults', () => {
  it('a Canary without optional fields reads back with the Flagger defaults filled in', async () => {
    const object = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: 'minimal', namespace: ns.name },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'minimal' },
        service: { port: 80, gatewayRefs: [{ name: 'public' }] },
        analysis: {
          stepWeight: 10,
          metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
          webhooks: [{ name: 'load', url: 'http://loadtester.test/' }],
          alerts: [{ name: 'team', providerRef: { name: 'slack' } }],
          sessionAffinity: { cookieName: 'canary' },
        },
      },
    };
    const stored = await apply(ns.kube, object);
    expect(stored.spec).toEqual({
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'minimal' },
      service: {
        port: 80,
        portName: 'http',
        gatewayRefs: [{ name: 'public', group: 'gateway.networking.k8s.io', kind: 'Gateway' }],
      },
      analysis: {
        interval: '60s',
        threshold: 1,
        stepWeight: 10,
        primaryReadyThreshold: 100,
        canaryReadyThreshold: 100,
        inconclusiveLimit: 1,
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' }],
        webhooks: [{ name: 'load', url: 'http://loadtester.test/', type: 'rollout', timeout: '10s' }],
        alerts: [{ name: 'team', providerRef: { name: 'slack' }, severity: 'info' }],
        sessionAffinity: { cookieName: 'canary', maxAge: 86400 },
      },
      progressDeadlineSeconds: 600,
    });
    // Sluice's parser fills in exactly the same defaults for objects that skip the apiserver.
    const local = parseCanary(object);
    expect(local.ok && local.canary.spec).toEqual(stored.spec);
  });
});

describe('status subresource', () => {
  it('stores phase, conditions, the machine snapshot and fields added later; spec writes do not touch it', async () => {
    // The same Canary before and after a spec write (with `extra` in its spec).
    const statusCanary = (extra: Record<string, unknown> = {}) =>
      apply(ns.kube, {
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'Canary',
        metadata: { name: 'status', namespace: ns.name },
        spec: {
          targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'status' },
          service: { port: 80 },
          analysis: { interval: '30s', stepWeight: 20, maxWeight: 60, mirror: false },
          ...extra,
        },
      });
    const canary = await statusCanary();
    const now = new Date('2025-03-01T12:00:00Z');
    const status = {
      phase: 'Progressing',
      canaryWeight: 20,
      failedChecks: 1,
      iterations: 0,
      lastAppliedSpec: '5d8f6b9c7',
      lastPromotedSpec: '7c9d5f4b8',
      trackedConfigs: { 'configmap/podinfo-config': 'a1b2c3' },
      lastTransitionTime: '2025-03-01T12:00:00Z',
      observedGeneration: 1,
      conditions: conditionsForPhase(undefined, { phase: 'Progressing', generation: 1, now }),
      machine: { value: { progressing: 'analysing' }, context: { step: 2, history: [1, 2] } },
      nextStepAt: '2025-03-01T12:00:30Z',
      deadlines: { progress: '2025-03-01T12:10:00Z' },
      lastAnalysis: [
        { name: 'request-success-rate', value: 99.2, threshold: 'min 99', passed: true },
        { name: 'request-duration', threshold: 'max 500', passed: false, reason: 'no values', dryRun: true },
      ],
      lastCommand: { id: 'abc-123', command: 'pause', handledAt: '2025-03-01T11:59:00Z', result: 'Accepted' },
      addedByALaterController: { note: 'kept' },
    };
    const patched = await ns.kube.wire.mergePatchObject<Stored>(
      canary,
      { status },
      { subresource: 'status' },
    );
    expect(patched.status).toEqual(status);
    expect(parseCanary(patched).ok).toBe(true);

    // A spec write through the main resource leaves status alone.
    const updated = await statusCanary({ suspend: true });
    expect((updated as Stored).status).toEqual(status);
  });

  it('shows the printer columns kubectl get prints', async () => {
    const path = await ns.kube.wire.pathOf({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Canary',
      metadata: { name: 'status', namespace: ns.name },
    });
    const table = await tableOf(path);
    expect(table.columnDefinitions.map((column) => column.name)).toEqual(['Name', ...CANARY_COLUMNS]);
    expect(table.rows[0]?.cells).toEqual([
      'status',
      'Progressing',
      20,
      1,
      '30s',
      false,
      20,
      60,
      '2025-03-01T12:00:00Z',
    ]);
  });

  it('answers to its short name and category in discovery', async () => {
    const resources = await ns.kube.wire.request<{
      resources: { name: string; shortNames?: string[]; categories?: string[] }[];
    }>(HttpMethod.GET, '/apis/sluice.dev/v1alpha1');
    const canaries = resources.resources.find((resource) => resource.name === 'canaries');
    expect(canaries?.shortNames).toEqual(['scn']);
    expect(canaries?.categories).toEqual(['sluice']);
    expect(resources.resources.map((resource) => resource.name)).toEqual(
      expect.arrayContaining(['canaries', 'canaries/status', 'metrictemplates', 'alertproviders']),
    );
  });
});

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

/** A GET answered as a meta.k8s.io Table, the way kubectl get asks for it. */
async function tableOf(path: string): Promise<Table> {
  const api = ns.kube.wire;
  const context = api['configuration'].baseServer.makeRequestContext(path, HttpMethod.GET);
  context.setHeaderParam('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io');
  await api['configuration'].authMethods.default?.applySecurityAuthentication(context);
  const response = await api['configuration'].httpApi.send(context).toPromise();
  return JSON.parse(await response.body.text()) as Table;
}
