import { HttpMethod } from '../kube/library.ts';
import { z } from 'zod';
import { apiErrorMessage, type Kube } from '../kube/client.ts';
import type { Access } from './api.ts';

// The controller's dashboard acts with the controller's identity, so each press must carry
// the person's own Kubernetes bearer token: a TokenReview says who it is, a
// SubjectAccessReview whether that user may patch the Canary (what `sluice abort` needs).

const TokenReviewAnswer = z.object({
  status: z
    .object({
      authenticated: z.boolean().optional(),
      error: z.string().optional(),
      user: z
        .object({
          username: z.string().optional(),
          uid: z.string().optional(),
          groups: z.array(z.string()).optional(),
          extra: z.record(z.string(), z.array(z.string())).optional(),
        })
        .optional(),
    })
    .optional(),
});

const AccessReviewAnswer = z.object({
  status: z
    .object({
      allowed: z.boolean().optional(),
      reason: z.string().optional(),
      evaluationError: z.string().optional(),
    })
    .optional(),
});

/** The bearer token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** May the holder of `token` patch this Canary? */
export async function reviewAccess(
  kube: Kube,
  token: string | undefined,
  canary: { namespace: string; name: string },
): Promise<Access> {
  if (!token) {
    return {
      allowed: false,
      reason:
        'the buttons need your Kubernetes token: paste one (kubectl create token, or your kubeconfig user token) under "Sign in"',
    };
  }
  let user: NonNullable<NonNullable<z.output<typeof TokenReviewAnswer>['status']>['user']>;
  try {
    const review = TokenReviewAnswer.parse(
      await kube.wire.request(HttpMethod.POST, '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      }),
    );
    if (!review.status?.authenticated || !review.status.user?.username) {
      return {
        allowed: false,
        reason: `the token was not accepted by the cluster${review.status?.error ? `: ${review.status.error}` : ''}`,
      };
    }
    user = review.status.user;
  } catch (error) {
    return { allowed: false, reason: `the controller could not review the token: ${apiErrorMessage(error)}` };
  }
  const username = user.username!;
  try {
    const review = AccessReviewAnswer.parse(
      await kube.wire.request(HttpMethod.POST, '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: username,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.groups ? { groups: user.groups } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            resourceAttributes: {
              group: 'sluice.dev',
              resource: 'canaries',
              verb: 'patch',
              namespace: canary.namespace,
              name: canary.name,
            },
          },
        },
      }),
    );
    if (review.status?.allowed) return { allowed: true, reason: '', user: username };
    return {
      allowed: false,
      user: username,
      reason: `${username} may not patch canary ${canary.namespace}/${canary.name} (RBAC: patch on canaries.sluice.dev)`,
    };
  } catch (error) {
    return {
      allowed: false,
      user: username,
      reason: `the controller could not check access: ${apiErrorMessage(error)}`,
    };
  }
}

/** Who the kubeconfig identity is (SelfSubjectReview), for the Events the buttons record. */
export async function whoAmI(kube: Kube): Promise<string | undefined> {
  try {
    const answer = z
      .object({
        status: z.object({ userInfo: z.object({ username: z.string().optional() }).optional() }).optional(),
      })
      .parse(
        await kube.wire.request(HttpMethod.POST, '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        }),
      );
    return answer.status?.userInfo?.username;
  } catch {
    return undefined;
  }
}
