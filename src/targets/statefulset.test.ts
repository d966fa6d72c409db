import { describe, expect, it } from 'vitest';
import { parseCanary } from '../api/validate.ts';
import type { Pod, StatefulSet } from '../kube/kinds.ts';
import { planFromSpec } from '../machine/plan.ts';
import { canaryWith } from '../../test/support/canaries.ts';
import { renderTemplate, templateModel } from '../analysis/template.ts';
import {
  ordinalOf,
  podsRegex,
  rolledBackOf,
  ROLLED_BACK_ANNOTATION,
  statefulSetCanaryReadiness,
  statefulSetRevision,
  statefulSetPrimaryReadiness,
  withPodSteps,
} from './statefulset.ts';

const stsRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' };

function stsCanary(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'db', namespace: 'shop' },
    spec: { targetRef: stsRef, service: { port: 80 }, analysis, ...spec },
  };
}

function refused(analysis: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  const result = parseCanary(stsCanary(analysis, spec));
  if (result.ok) throw new Error('expected the Canary to be refused');
  return result.issues;
}

function sts(partition: number, status: Partial<NonNullable<StatefulSet['status']>> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop', generation: 2 },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'db' } },
      template: { spec: { containers: [{ name: 'db', image: 'db:2' }] } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } },
    },
    status: {
      observedGeneration: 2,
      replicas: 4,
      currentRevision: 'db-old',
      updateRevision: 'db-new',
      ...status,
    },
  };
}

function pod(ordinal: number, hash: string, ready = true): Pod {
  return {
    metadata: { name: `db-${ordinal}`, labels: { app: 'db', 'controller-revision-hash': hash } },
    status: { phase: 'Running', containerStatuses: [{ name: 'db', ready, restartCount: 0 }] },
  } as Pod;
}

describe('StatefulSet Canary fields', () => {
  it('accepts stepReplicas as counts and percentages', () => {
    const result = parseCanary(stsCanary({ stepReplicas: [1, 2, '50%'] }));
    expect(result.ok).toBe(true);
  });

  it('refuses weight, A/B, mirror and autoscaler fields, naming each', () => {
    expect(refused({ stepWeight: 10 })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.stepWeight' }),
    );
    expect(
      refused({ stepReplicas: [1], match: [{ headers: { x: { exact: 'y' } } }], iterations: 2 }),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'spec.analysis.match' }),
        expect.objectContaining({ path: 'spec.analysis.iterations' }),
      ]),
    );
    expect(refused({ stepReplicas: [1], mirror: true })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.mirror' }),
    );
    expect(
      refused(
        { stepReplicas: [1] },
        { autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'db' } },
      ),
    ).toContainEqual(expect.objectContaining({ path: 'spec.autoscalerRef' }));
    expect(refused({ stepReplicas: [1] }, { service: { port: 80, gateways: ['public'] } })).toContainEqual(
      expect.objectContaining({ path: 'spec.service.gateways' }),
    );
  });

  it('refuses stepReplicas on other kinds, together with steps, and a StatefulSet without either', () => {
    const deployment = parseCanary({
      ...stsCanary({ stepReplicas: [1] }),
      spec: {
        targetRef: { ...stsRef, kind: 'Deployment' },
        service: { port: 80 },
        analysis: { stepReplicas: [1] },
      },
    });
    expect(deployment.ok ? [] : deployment.issues).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.stepReplicas' }),
    );
    expect(refused({ stepReplicas: [1], steps: [{ analysis: {} }] })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.stepReplicas' }),
    );
    expect(refused({ stepReplicas: ['0%'] })).not.toHaveLength(0);
    expect(refused({ stepReplicas: [0] })).not.toHaveLength(0);
  });
});

describe('StatefulSet steps as the machine walks them', () => {
  const canary = (analysis: Record<string, unknown>, provider = 'kubernetes') => {
    const parsed = parseCanary(stsCanary(analysis, { provider }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return parsed.canary;
  };

  it('turns stepReplicas into a weight and an analysis per step (a canary program, even on kubernetes)', () => {
    const plan = planFromSpec(withPodSteps(canary({ stepReplicas: [1, 2, '50%'] }), 5).spec);
    expect(plan.strategy).toBe('canary');
    expect(plan.steps).toEqual([
      { kind: 'preRollout' },
      { kind: 'setWeight', weight: 20 },
      { kind: 'analysis' },
      { kind: 'setWeight', weight: 40 },
      { kind: 'analysis' },
      { kind: 'setWeight', weight: 60 },
      { kind: 'analysis' },
      { kind: 'confirmPromotion' },
    ]);
  });

  it("reads steps' setWeight as a percentage of pods", () => {
    const rewritten = withPodSteps(
      canary({ steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }, { analysis: {} }] }),
      3,
    );
    expect(rewritten.spec.analysis.steps?.[0]).toEqual({ setWeight: 67 });
    expect(rewritten.spec.analysis.steps?.[1]).toEqual({ pause: { duration: '1m' } });
  });

  it('leaves other Canaries alone', () => {
    const deployment = canaryWith();
    expect(withPodSteps(deployment, 5)).toBe(deployment);
  });
});

describe('StatefulSet readiness', () => {
  it('counts the canary as the pods from the partition up on the update revision', () => {
    const pods = [pod(0, 'old'), pod(1, 'old'), pod(2, 'new'), pod(3, 'new', false)];
    expect(statefulSetCanaryReadiness(sts(2), pods, 100)).toMatchObject({
      state: 'notReady',
      message: expect.stringContaining('1 of 2 pods ready on revision db-new'),
    });
    expect(statefulSetCanaryReadiness(sts(2), pods, 50).state).toBe('ready');
    expect(statefulSetCanaryReadiness(sts(4), pods, 100).state).toBe('ready');
  });

  it('counts the primary as the ordinals below the partition on the current revision', () => {
    const pods = [pod(0, 'old'), pod(1, 'old'), pod(2, 'new', false), pod(3, 'new', false)];
    expect(statefulSetPrimaryReadiness(sts(2), pods, 100).state).toBe('ready');
    expect(statefulSetPrimaryReadiness(sts(2), [pod(0, 'old', false), ...pods.slice(1)], 100).state).toBe(
      'notReady',
    );
  });

  it('after a rollback, waits until every pod is back on the current revision', () => {
    const rolledBack = sts(4, { updateRevision: 'db-old' });
    const pods = [pod(0, 'old'), pod(1, 'old'), pod(2, 'old'), pod(3, 'new')];
    expect(statefulSetPrimaryReadiness(rolledBack, pods, 100)).toMatchObject({
      state: 'notReady',
      message: expect.stringContaining('not on it yet: db-3'),
    });
    expect(statefulSetPrimaryReadiness(rolledBack, [...pods.slice(0, 3), pod(3, 'old')], 100).state).toBe(
      'ready',
    );
  });

  it('during a promotion (partition 0), waits for every pod on the new revision and the controller done', () => {
    const pods = [pod(0, 'new'), pod(1, 'new'), pod(2, 'new'), pod(3, 'new')];
    expect(statefulSetPrimaryReadiness(sts(0), pods, 100).state).toBe('notReady');
    expect(statefulSetPrimaryReadiness(sts(0, { currentRevision: 'db-new' }), pods, 100).state).toBe('ready');
  });

  it('trusts nothing before the StatefulSet controller has seen the generation', () => {
    const stale = sts(2, { observedGeneration: 1 });
    expect(statefulSetCanaryReadiness(stale, [], 100).state).toBe('notReady');
    expect(statefulSetPrimaryReadiness(stale, [], 100).state).toBe('notReady');
  });

  it('reads ordinals from pod names only', () => {
    expect(ordinalOf(sts(0), pod(3, 'new'))).toBe(3);
    expect(ordinalOf(sts(0), { metadata: { name: 'db-primary-1' } } as Pod)).toBeUndefined();
    expect(ordinalOf(sts(0), { metadata: { name: 'dbx-1' } } as Pod)).toBeUndefined();
  });
});

describe('StatefulSet pods in metric templates', () => {
  it('names the pods of each revision as a regex, and none as one that matches no pod', () => {
    expect(podsRegex(sts(2), [pod(3, 'db-new'), pod(2, 'db-new')])).toBe('db-(3|2)');
    expect(podsRegex(sts(2), [])).toBe('db-(none)');
  });

  it('renders {{ canaryPods }}, {{ primaryPods }}, the revisions and {{ pods }} unescaped into PromQL', () => {
    const arms = {
      canaryPods: 'db-(3)',
      primaryPods: 'db-(2|1|0)',
      canaryRevision: 'db-new',
      primaryRevision: 'db-old',
    };
    const model = templateModel({ name: 'db', namespace: 'shop', target: 'db', statefulSet: arms }, '1m', {});
    expect(
      renderTemplate(
        'sum(rate(http_requests_total{pod=~"{{ canaryPods }}"}[{{ interval }}])) / sum(rate(http_requests_total{pod=~"{{ primaryPods }}", rev="{{ primaryRevision }}"}[{{ interval }}]))',
        model,
        'test',
        'promql',
      ),
    ).toBe(
      'sum(rate(http_requests_total{pod=~"db-(3)"}[1m])) / sum(rate(http_requests_total{pod=~"db-(2|1|0)", rev="db-old"}[1m]))',
    );
    expect(renderTemplate('up{pod=~"{{ pods }}"}', model, 'test', 'promql')).toBe('up{pod=~"db-(3)"}');
  });

  it('refuses the StatefulSet functions for other Canaries, naming the function', () => {
    const model = templateModel({ name: 'web', namespace: 'shop', target: 'web' }, '1m', {});
    expect(() => renderTemplate('up{pod=~"{{ canaryPods }}"}', model, 'test', 'promql')).toThrow(
      /canaryPods .*StatefulSet canaries only/,
    );
  });

  it('refuses built-in metrics and built-in judged metrics on a StatefulSet, naming the field', () => {
    expect(
      refused({
        stepReplicas: [1],
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
      }),
    ).toContainEqual(expect.objectContaining({ path: 'spec.analysis.metrics' }));
    expect(refused({ stepReplicas: [1], judge: {} })).toContainEqual(
      expect.objectContaining({ path: 'spec.analysis.judge.builtins' }),
    );
  });
});

describe('StatefulSet rollback note (sluice.dev/rolled-back)', () => {
  const noted = (note: string, status: Partial<NonNullable<StatefulSet['status']>> = {}) => {
    const object = sts(4, status);
    object.metadata.annotations = { [ROLLED_BACK_ANNOTATION]: note };
    return object;
  };

  it('reads a done rollback and an intended one, and nothing else', () => {
    expect(rolledBackOf(noted('bad1/good1'))).toEqual({ failed: 'bad1', template: 'good1' });
    expect(rolledBackOf(noted('bad1/to:db-old'))).toEqual({ failed: 'bad1', to: 'db-old' });
    for (const note of ['bad1', 'bad1/', '/good1', 'bad1/to:'])
      expect(rolledBackOf(noted(note))).toBeUndefined();
    expect(rolledBackOf(sts(4))).toBeUndefined();
  });

  it('after a rollback, reads the template put back as the failed revision, and a new one as itself', () => {
    const object = noted('bad1/good1', { updateRevision: 'db-old' });
    expect(statefulSetRevision(object, 'good1')).toBe('bad1');
    expect(statefulSetRevision(object, 'fix2')).toBe('fix2');
    expect(statefulSetRevision(sts(4), 'good1')).toBe('good1');
  });

  it('killed between the intent and the note: the revert never reads as a fix from Git ("recovered")', () => {
    // Killed before the template patch: the template is still the failed one.
    expect(statefulSetRevision(noted('bad1/to:db-old', { updateRevision: 'db-new' }), 'bad1')).toBe('bad1');
    // Killed after it, before the StatefulSet controller saw the new generation.
    expect(
      statefulSetRevision(
        noted('bad1/to:db-old', { observedGeneration: 1, updateRevision: 'db-new' }),
        'good1',
      ),
    ).toBe('bad1');
    // … and after it did: the template is back on the revision the intent named.
    expect(statefulSetRevision(noted('bad1/to:db-old', { updateRevision: 'db-old' }), 'good1')).toBe('bad1');
  });

  it('with an intent left behind, a later template on another revision is a release as any other', () => {
    expect(statefulSetRevision(noted('bad1/to:db-old', { updateRevision: 'db-fix' }), 'fix2')).toBe('fix2');
  });
});
