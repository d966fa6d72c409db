import { describe, expect, it } from 'vitest';
import type { ManagedFieldsEntry } from '../kube/kinds.ts';
import { fieldOwners } from '../kube/field-owners.ts';
import { decideReplicas } from './replicas.ts';

const owns = (manager: string, operation: string, subresource?: string): ManagedFieldsEntry => ({
  manager,
  operation,
  ...(subresource ? { subresource } : {}),
  fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': {} } },
});
const ownsOther = (manager: string): ManagedFieldsEntry => ({
  manager,
  operation: 'Apply',
  fieldsV1: { 'f:spec': { 'f:template': {} } },
});

describe('fieldOwners', () => {
  it('lists who owns spec.replicas other than Sluice, and which of them re-assert it', () => {
    const owners = fieldOwners(
      [
        owns('sluice', 'Apply'),
        owns('kustomize-controller', 'Apply'),
        owns('argocd-controller', 'Update'),
        owns('kubectl', 'Update'),
        owns('kube-controller-manager', 'Update', 'scale'),
        ownsOther('helm'),
      ],
      ['f:spec', 'f:replicas'],
    );
    expect(owners).toEqual([
      { manager: 'kustomize-controller', operation: 'Apply', declarative: true },
      { manager: 'argocd-controller', operation: 'Update', declarative: true },
      { manager: 'kubectl', operation: 'Update', declarative: false },
      { manager: 'kube-controller-manager', operation: 'Update', declarative: false },
    ]);
  });
});

describe('decideReplicas', () => {
  const what = 'Deployment shop/web';

  it('does nothing when the target already has the replicas', () => {
    expect(decideReplicas(what, 0, 0, [owns('kustomize-controller', 'Apply')])).toEqual({ action: 'none' });
    // An absent spec.replicas is 1.
    expect(decideReplicas(what, undefined, 1, [])).toEqual({ action: 'none' });
  });

  it('scales when nobody declarative owns replicas (absent from the GitOps manifest, or set by kubectl/the HPA)', () => {
    expect(decideReplicas(what, 2, 0, [ownsOther('kustomize-controller')])).toEqual({
      action: 'apply',
      force: true,
    });
    expect(
      decideReplicas(what, 2, 0, [
        owns('kubectl-client-side-apply', 'Update'),
        owns('kube-controller-manager', 'Update', 'scale'),
      ]),
    ).toEqual({
      action: 'apply',
      force: true,
    });
  });

  it('leaves replicas to a GitOps owner and says what to change', () => {
    const decision = decideReplicas(what, 2, 0, [owns('kustomize-controller', 'Apply')]);
    expect(decision.action).toBe('skip');
    if (decision.action !== 'skip') return;
    expect(decision.message).toBe(
      'Deployment shop/web: spec.replicas is set to 2 by kustomize-controller (Apply), which applies it from Git; ' +
        'Sluice leaves it instead of setting 0 so the two do not fight. ' +
        'Remove spec.replicas from the manifest so Sluice can scale the canary (see docs/gitops.md).',
    );
  });

  it('treats any server-side apply owner as declarative, and takes a configurable list of reconcilers', () => {
    expect(decideReplicas(what, 2, 0, [owns('my-operator', 'Apply')]).action).toBe('skip');
    expect(decideReplicas(what, 2, 0, [owns('my-reconciler', 'Update')]).action).toBe('apply');
    expect(decideReplicas(what, 2, 0, [owns('my-reconciler', 'Update')], ['my-reconciler']).action).toBe(
      'skip',
    );
  });
});
