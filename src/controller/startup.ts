import { HttpMethod } from '../kube/library.ts';
import { GROUP, VERSION } from '../api/common.ts';
import { apiErrorMessage, isNotFound, statusCode, type Kube } from '../kube/client.ts';
import { checkApiServer, StartupError } from '../startup.ts';
import { collectionPath } from './informers.ts';

// The controller's start-up checks: each problem that would otherwise leave it retrying a
// list forever (no API, no CRDs, no permission) is one line naming it and the way out.

/** The collections the controller lists and watches in each namespace (or cluster-wide). */
export const WATCHED = [
  { group: GROUP, version: VERSION, plural: 'canaries' },
  { group: 'apps', version: 'v1', plural: 'deployments' },
  { group: 'apps', version: 'v1', plural: 'daemonsets' },
  { group: '', version: 'v1', plural: 'configmaps' },
  { group: '', version: 'v1', plural: 'secrets' },
] as const;

export interface PreflightOptions {
  /** The namespaces watched; [undefined] for all. */
  namespaces: readonly (string | undefined)[];
  /** Where the credentials came from (for messages): `--kubeconfig x`, `$KUBECONFIG`, in-cluster. */
  kubeconfigSource: string;
  timeoutMs?: number;
}

/** Fails with a StartupError naming the first thing that keeps the controller from serving. */
export async function preflight(kube: Pick<Kube, 'kc' | 'wire'>, options: PreflightOptions): Promise<void> {
  await checkApiServer(kube, options.kubeconfigSource, options.timeoutMs);
  const server = kube.kc.getCurrentCluster()?.server ?? 'the cluster';
  try {
    await kube.wire.request(HttpMethod.GET, `/apis/${GROUP}/${VERSION}`);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new StartupError(
      `the Sluice CRDs (${GROUP}/${VERSION}) are not installed at ${server}: install them with ` +
        `kubectl apply -f crds/ (or kubectl apply -k deploy/), or point --kubeconfig at the cluster that has them`,
      { cause: error },
    );
  }
  for (const namespace of options.namespaces) {
    for (const { group, version, plural } of WATCHED) {
      const path = collectionPath(group, version, plural, namespace);
      try {
        await kube.wire.request(HttpMethod.GET, path, { query: { limit: '1' } });
      } catch (error) {
        const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
        if (statusCode(error) === 403) {
          throw new StartupError(
            `not allowed to list ${plural} ${where} (${apiErrorMessage(error)}): bind this identity to the ` +
              `ClusterRole in deploy/, or watch only namespaces it may read with --watch-namespaces (or -n)`,
            { cause: error },
          );
        }
        throw new StartupError(`cannot list ${plural} ${where} at ${server}: ${apiErrorMessage(error)}`, {
          cause: error,
        });
      }
    }
  }
}
