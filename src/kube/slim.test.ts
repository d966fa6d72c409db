import { describe, expect, it } from 'vitest';
import { fieldOwners } from './field-owners.ts';
import { pruneFields, slimForCache } from './slim.ts';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'podinfo',
    namespace: 'test',
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1","kind":"Deployment"}',
      'team.example.com/owner': 'payments',
    },
    managedFields: [
      {
        manager: 'kustomize-controller',
        operation: 'Apply',
        time: '2026-12-07T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': {} } } },
        },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        fieldsV1: { 'f:status': { 'f:replicas': {}, 'f:conditions': {} } },
      },
      {
        manager: 'hpa',
        operation: 'Update',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ],
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image: 'podinfo:1' }] } } },
});

describe('slimForCache', () => {
  it('keeps only the owned fields Sluice reads, so replica ownership answers the same', () => {
    const before = deployment();
    const owners = fieldOwners(before.metadata.managedFields, ['f:spec', 'f:replicas']);
    const slim = slimForCache(deployment());
    expect(fieldOwners(slim.metadata.managedFields, ['f:spec', 'f:replicas'])).toEqual(owners);
    expect(owners.map((owner) => owner.manager)).toEqual(['kustomize-controller', 'hpa']);
    expect(slim.metadata.managedFields).toEqual([
      { manager: 'kustomize-controller', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' },
      {
        manager: 'hpa',
        operation: 'Update',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ]);
  });

  it("drops kubectl's last-applied copy and keeps every other annotation, the spec and the status", () => {
    const slim = slimForCache(deployment());
    expect(slim.metadata.annotations).toEqual({ 'team.example.com/owner': 'payments' });
    expect(slim.spec).toEqual(deployment().spec);
  });

  it('leaves objects without metadata (a watch ERROR status) alone', () => {
    expect(slimForCache({ kind: 'Status', code: 410 })).toEqual({ kind: 'Status', code: 410 });
    expect(slimForCache(undefined)).toBeUndefined();
  });
});

describe('pruneFields', () => {
  it('rebuilds each owned path and nothing beside it', () => {
    expect(
      pruneFields({ 'f:spec': { 'f:selector': { 'f:app': {} }, 'f:ports': {} } }, [
        ['f:spec', 'f:replicas'],
        ['f:spec', 'f:selector'],
      ]),
    ).toEqual({ 'f:spec': { 'f:selector': {} } });
    expect(pruneFields({ 'f:status': {} }, [['f:spec', 'f:replicas']])).toBeUndefined();
  });
});
