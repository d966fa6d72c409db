import { describe, expect, it } from 'vitest';
import { readRelease, releaseAnnotations } from './release.ts';

const annotations = {
  'dora.metrics/deployment-id': 'deploy-123',
  'dora.metrics/commit-sha': 'abc123',
  'dora.metrics/timestamp': '2024-01-20T10:30:00Z',
};

describe('readRelease', () => {
  it('reads the pod template first, then the Deployment', () => {
    expect(readRelease(annotations, undefined, 'Deployment shop/web')).toEqual({
      release: { deploymentId: 'deploy-123', commitSha: 'abc123', committedAt: '2024-01-20T10:30:00Z' },
    });
    expect(
      readRelease({ 'dora.metrics/commit-sha': 'def456' }, annotations, 'Deployment shop/web').release,
    ).toEqual({ deploymentId: 'deploy-123', commitSha: 'def456', committedAt: '2024-01-20T10:30:00Z' });
    expect(readRelease(undefined, undefined, 'Deployment shop/web')).toEqual({ release: {} });
  });

  it('names the annotation and the object when the timestamp is not RFC 3339, and leaves it out', () => {
    const read = readRelease(
      undefined,
      { 'dora.metrics/timestamp': 'yesterday', 'dora.metrics/commit-sha': 'abc123' },
      'Deployment shop/web',
    );
    expect(read.release).toEqual({ commitSha: 'abc123' });
    expect(read.problem).toBe(
      'Deployment shop/web metadata.annotations: dora.metrics/timestamp is "yesterday", expected an RFC 3339 time such as 2024-01-20T10:30:00Z; lead time falls back to when the revision was detected',
    );
  });

  it('carries the release as the same annotation keys', () => {
    const { release } = readRelease(annotations, undefined, 'Deployment shop/web');
    expect(releaseAnnotations(release)).toEqual({
      'dora.metrics/deployment-id': 'deploy-123',
      'dora.metrics/commit-sha': 'abc123',
    });
    expect(releaseAnnotations(undefined)).toEqual({});
  });
});
