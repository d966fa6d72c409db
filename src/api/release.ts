import { z } from 'zod';

// What a release says about itself for DORA metrics: annotations a CI pipeline puts on the
// target's pod template (or on the Deployment itself), read with the revision. The pod
// template wins: it changes with the revision, the Deployment's own annotations need not.

export const RELEASE_ANNOTATIONS = {
  deploymentId: 'dora.metrics/deployment-id',
  commitSha: 'dora.metrics/commit-sha',
  /** When the change was committed (RFC 3339): the start of lead time for changes. */
  timestamp: 'dora.metrics/timestamp',
} as const;

const RFC3339 = z.iso.datetime({ offset: true });

/** The release a revision carries (status.release). */
export const Release = z.object({
  deploymentId: z.string().optional().describe(`The ${RELEASE_ANNOTATIONS.deploymentId} annotation`),
  commitSha: z.string().optional().describe(`The ${RELEASE_ANNOTATIONS.commitSha} annotation`),
  committedAt: RFC3339.optional().describe(
    `The ${RELEASE_ANNOTATIONS.timestamp} annotation: when the change was committed (lead time starts here)`,
  ),
});
export type Release = z.output<typeof Release>;

/** A release read from annotations, and what could not be read (an invalid timestamp). */
export interface ReleaseRead {
  release: Release;
  /** Names the annotation and the object, and says what was expected. */
  problem?: string;
}

type Annotations = Record<string, string> | undefined;

/**
 * The release of a target: each annotation from the pod template, else from the object.
 * `object` names the target in a problem, e.g. `Deployment shop/web`.
 */
export function readRelease(podTemplate: Annotations, own: Annotations, object: string): ReleaseRead {
  const pick = (key: string) => {
    const fromTemplate = podTemplate?.[key];
    if (fromTemplate !== undefined && fromTemplate !== '')
      return { value: fromTemplate, where: `${object} spec.template.metadata.annotations` };
    const fromObject = own?.[key];
    if (fromObject !== undefined && fromObject !== '')
      return { value: fromObject, where: `${object} metadata.annotations` };
    return undefined;
  };
  const release: Release = {};
  const id = pick(RELEASE_ANNOTATIONS.deploymentId);
  if (id) release.deploymentId = id.value;
  const sha = pick(RELEASE_ANNOTATIONS.commitSha);
  if (sha) release.commitSha = sha.value;
  const time = pick(RELEASE_ANNOTATIONS.timestamp);
  if (!time) return { release };
  if (RFC3339.safeParse(time.value).success) {
    release.committedAt = time.value;
    return { release };
  }
  return {
    release,
    problem: `${time.where}: ${RELEASE_ANNOTATIONS.timestamp} is "${time.value}", expected an RFC 3339 time such as 2024-01-20T10:30:00Z; lead time falls back to when the revision was detected`,
  };
}

/** The release as annotations (on Events) and webhook metadata: the same keys CI wrote. */
export function releaseAnnotations(release: Release | undefined): Record<string, string> {
  return {
    ...(release?.deploymentId ? { [RELEASE_ANNOTATIONS.deploymentId]: release.deploymentId } : {}),
    ...(release?.commitSha ? { [RELEASE_ANNOTATIONS.commitSha]: release.commitSha } : {}),
  };
}
