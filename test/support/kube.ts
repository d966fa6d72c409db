import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { HttpMethod } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { addUser } from '../../src/dev/cluster.ts';
import { connect, isNotFound, loadKubeConfig, type Kube } from '../../src/kube/client.ts';
import type { WireObjectApi } from '../../src/kube/wire.ts';
import { testEnv } from './env.ts';

/** Writes a one-context kubeconfig named `name`: `cluster` (server, TLS) as `user` (credentials, if any). */
export async function writeKubeconfig(
  path: string,
  name: string,
  config: { cluster: Record<string, unknown>; user: Record<string, unknown>; namespace?: string },
): Promise<void> {
  const { cluster, user, namespace } = config;
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: name, user: name, ...(namespace ? { namespace } : {}) } }],
      'current-context': name,
    }),
  );
}

/** Writes a kubeconfig for the test control plane that authenticates with `token` (a ServiceAccount's). */
export async function writeTokenKubeconfig(path: string, token: string, namespace?: string): Promise<void> {
  const cluster = loadKubeConfig(testEnv().kubeconfig).getCurrentCluster()!;
  await writeKubeconfig(path, 'sa', {
    cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData },
    user: { token },
    namespace,
  });
}

/**
 * A kubeconfig of a user (a client certificate) who may do exactly `rules` in the test
 * namespace, through a Role and RoleBinding both named `name`.
 */
export async function userWithRole(
  ns: TestNamespace,
  name: string,
  rules: Record<string, unknown>[],
): Promise<string> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const user = `${ns.name}-${name}`;
  await ns.kube.wire.request(HttpMethod.POST, `${rbac}/namespaces/${ns.name}/roles`, {
    body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules },
  });
  await ns.kube.wire.request(HttpMethod.POST, `${rbac}/namespaces/${ns.name}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  return addUser(testEnv().stateDir, user);
}

/** An admin client of the shared test control plane. */
export function adminKube(): Kube {
  return connect(loadKubeConfig(testEnv().kubeconfig));
}

export interface TestNamespace {
  name: string;
  kube: Kube;
}

/**
 * A namespace of this test file's own, created before its tests and deleted after, so
 * test files can run in parallel against one control plane.
 */
export function useNamespace(prefix: string): TestNamespace {
  const namespace: TestNamespace = {
    name: `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase(),
    kube: undefined as unknown as Kube,
  };
  beforeAll(async () => {
    namespace.kube = adminKube();
    await namespace.kube.core.createNamespace({ body: { metadata: { name: namespace.name } } });
  });
  afterAll(async () => {
    try {
      await namespace.kube.core.deleteNamespace({ name: namespace.name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  });
  return namespace;
}

/** Polls until `check` returns a value other than undefined/false, or fails with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${reason}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

type SpiedMethod = 'getObject' | 'listObjects' | 'request';

/** The same wire client, telling `seen` the arguments of each call of `method` before making it. */
export function spyingWire<M extends SpiedMethod>(
  wire: WireObjectApi,
  method: M,
  seen: (args: Parameters<WireObjectApi[M]>) => void,
): WireObjectApi {
  return new Proxy(wire, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== method) return bound;
      return (...args: Parameters<WireObjectApi[M]>) => {
        seen(args);
        return bound(...args);
      };
    },
  });
}

/**
 * The same wire client, counting the calls of `method` that reach the apiserver, by a key
 * taken from their arguments (a kind, say). Reads served from an informer never get here.
 */
export function countingWire<M extends 'getObject' | 'listObjects'>(
  wire: WireObjectApi,
  method: M,
  keyOf: (args: Parameters<WireObjectApi[M]>) => string,
): { wire: WireObjectApi; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const counted = spyingWire(wire, method, (args) => {
    const key = keyOf(args);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return { wire: counted, counts };
}
