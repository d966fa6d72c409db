import { describe, expect, it } from 'vitest';
import type { PodTemplate } from '../kube/kinds.ts';
import { configChecksum, podTemplateHash, revisionOf } from './revision.ts';

const template = (image = 'app:1', extra: Partial<PodTemplate['spec']> = {}): PodTemplate => ({
  metadata: { labels: { app: 'web' }, annotations: { team: 'a' } },
  spec: { containers: [{ name: 'app', image }], ...extra },
});

describe('podTemplateHash', () => {
  it('changes with anything that changes what runs', () => {
    expect(podTemplateHash(template('app:2'))).not.toBe(podTemplateHash(template('app:1')));
    const restarted = template();
    restarted.metadata!.annotations!['kubectl.kubernetes.io/restartedAt'] = '2026-01-01T00:00:00Z';
    expect(podTemplateHash(restarted)).not.toBe(podTemplateHash(template()));
  });

  it("ignores the server's bookkeeping, empty fields and Sluice's own scale-to-zero node selector", () => {
    const base = podTemplateHash(template());
    const noisy = template('app:1', { nodeSelector: { 'sluice.dev/scale-to-zero': 'true' }, volumes: [] });
    (noisy.metadata as Record<string, unknown>).creationTimestamp = null;
    expect(podTemplateHash(noisy)).toBe(base);
    expect(podTemplateHash(template('app:1', { nodeSelector: { disk: 'ssd' } }))).not.toBe(base);
  });
});

describe('revisionOf', () => {
  it('is the template hash alone without tracked configs (as in Flagger)', () => {
    const revision = revisionOf(template(), {});
    expect(revision.revision).toBe(revision.podTemplateHash);
    expect(revision.revision).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes when only a config changes, and not with the order configs were read in', () => {
    const one = revisionOf(template(), {
      'configmap/a': configChecksum({ data: { x: '1' } }),
      'secret/b': 'bb',
    });
    const reordered = revisionOf(template(), {
      'secret/b': 'bb',
      'configmap/a': configChecksum({ data: { x: '1' } }),
    });
    const changed = revisionOf(template(), {
      'configmap/a': configChecksum({ data: { x: '2' } }),
      'secret/b': 'bb',
    });
    expect(reordered.revision).toBe(one.revision);
    expect(changed.revision).not.toBe(one.revision);
    expect(changed.podTemplateHash).toBe(one.podTemplateHash);
  });
});

describe('configChecksum', () => {
  it('covers data and binaryData, not metadata', () => {
    expect(configChecksum({ data: { a: '1' } })).toBe(configChecksum({ data: { a: '1' }, binaryData: {} }));
    expect(configChecksum({ data: { a: '1' } })).not.toBe(configChecksum({ data: { a: '2' } }));
    expect(configChecksum({ binaryData: { a: 'AA==' } })).not.toBe(configChecksum({ data: { a: 'AA==' } }));
  });
});
