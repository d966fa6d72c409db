import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { HttpMethod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/process.ts';
import { testEnv } from '../support/env.ts';
import { eventually, userWithRole, useNamespace } from '../support/kube.ts';
import {
  expectOneLineFailure,
  sluiceExit,
  startControllerProcess,
  type SluiceProcess,
} from '../support/sluice.ts';

// Start-up never waits silently: every failure that will not go away is one line on stderr
// naming what failed and the flag (or step) that fixes it, then a non-zero exit; and while
// a replica does not lead, /readyz says why.

const ns = useNamespace('startup');
const running: SluiceProcess[] = [];
let portHolder: Server | undefined;

/** Runs `sluice controller` to its exit, with the test namespace watched. */
const controllerExit = (args: string[]) =>
  sluiceExit(['controller', '-n', ns.name, '--metrics-server', testEnv().prometheusUrl, ...args]);

/** Flags for a controller run as `kubeconfig`'s identity, on any free port, its Lease in `leaseNamespace`. */
const leaderAs = (kubeconfig: string, leaseNamespace = ns.name) => [
  '--kubeconfig',
  kubeconfig,
  '--port',
  '0',
  '--leader-election-namespace',
  leaseNamespace,
];

const userWith = (name: string, rules: Record<string, unknown>[]) => userWithRole(ns, name, rules);

const WATCH = [
  { apiGroups: ['sluice.dev'], resources: ['canaries'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'daemonsets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
];
const LEASES = {
  apiGroups: ['coordination.k8s.io'],
  resources: ['leases'],
  verbs: ['get', 'create', 'update'],
};
const SECRETS = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] };

beforeAll(async () => {
  // Other files' controllers may run on this machine: the port below is one nobody else uses.
  portHolder = createServer();
  await new Promise<void>((resolve) => portHolder!.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.kill('SIGKILL')));
  await new Promise<void>((resolve) => (portHolder ? portHolder.close(() => resolve()) : resolve()));
});

describe('sluice controller start-up', () => {
  it('stops at once when the Lease namespace does not exist, naming it and the ways out', async () => {
    const exit = await controllerExit(leaderAs(testEnv().kubeconfig, `${ns.name}-missing`));
    expect(exit.code).toBe(1);
    expect(exit.said).toEqual([
      `sluice: leader election: the namespace ${ns.name}-missing of the Lease ${ns.name}-missing/sluice-controller ` +
        `does not exist; create it (kubectl create namespace ${ns.name}-missing), choose another namespace with ` +
        `--leader-election-namespace, or run a single replica with --no-leader-elect`,
    ]);
  });

  it('stops when RBAC refuses the Lease, and when it refuses what the controller must list', async () => {
    const noLease = await userWith('no-lease', [...WATCH, SECRETS]);
    const refused = await controllerExit(leaderAs(noLease));
    expectOneLineFailure(
      refused,
      new RegExp(
        `^sluice: leader election: not allowed to read the Lease ${ns.name}/sluice-controller \\(.*forbidden.*\\); ` +
          `grant get, create and update on leases in ${ns.name} .*--leader-election-namespace.*--no-leader-elect$`,
      ),
    );

    const noSecrets = await userWith('no-secrets', [...WATCH, LEASES]);
    const blind = await controllerExit(leaderAs(noSecrets));
    expectOneLineFailure(
      blind,
      new RegExp(
        `^sluice: not allowed to list secrets in namespace ${ns.name} \\(.*\\): bind this identity .*--watch-namespaces`,
      ),
    );
  });

  it('names the port and --port when the port is taken, without a stack trace', async () => {
    const port = (portHolder!.address() as { port: number }).port;
    const exit = await controllerExit([
      '--kubeconfig',
      testEnv().kubeconfig,
      '--port',
      String(port),
      '--no-leader-elect',
    ]);
    expect(exit.code).toBe(1);
    expect(exit.said).toEqual([
      `sluice: --port ${port}: 0.0.0.0:${port} is already in use by another process; choose a free port with --port`,
    ]);
  });

  it('names the server and --kubeconfig when the API cannot be reached, within its deadline', async () => {
    const closed = await freePort();
    const kubeconfig = join(testEnv().stateDir, `kubeconfig-unreachable-${ns.name}`);
    const text = await readFile(testEnv().kubeconfig, 'utf8');
    const unreachable = text.replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${closed}`);
    expect(unreachable).not.toBe(text);
    await writeFile(kubeconfig, unreachable);
    const exit = await controllerExit(['--kubeconfig', kubeconfig, '--port', '0']);
    expectOneLineFailure(
      exit,
      new RegExp(
        `^sluice: cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${closed} with --kubeconfig ${kubeconfig}: .*; point --kubeconfig at a running cluster$`,
      ),
    );
    expect(exit.ms).toBeLessThan(30_000);
  });

  it('refuses a bad flag before anything starts, naming it', async () => {
    const exit = await controllerExit(['--mesh-provider', 'gatewayapi:v1beta1']);
    expect(exit.code).toBe(1);
    expect(exit.said).toEqual([
      'sluice: --mesh-provider gatewayapi:v1beta1: "gatewayapi:v1beta1" is not supported (use gatewayapi: Sluice writes ' +
        'gateway.networking.k8s.io/v1 HTTPRoutes); expected one of istio, gatewayapi, gatewayapi:v1, smi, linkerd, osm, ' +
        'smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, nginx, kubernetes, contour, traefik, kuma, apisix, gloo, skipper, ' +
        'knative (smi:<version> may end in :<mesh>)',
    ]);
  });

  it('refuses a shard name a Lease cannot carry, and an empty one, naming --shard', async () => {
    const bad = await controllerExit(['--shard', 'EU_1']);
    expect(bad.code).toBe(1);
    expect(bad.said).toEqual([
      "sluice: --shard EU_1: expected lowercase letters, digits and '-', starting and ending with a letter or digit",
    ]);
    const empty = await controllerExit(['--shard', '']);
    expect(empty.code).toBe(1);
    expect(empty.said).toEqual([
      'sluice: --shard : expected a shard name; leave --shard out to run the replica for Canaries without the sluice.dev/shard label',
    ]);
  });

  it('says on /readyz whether it leads, and which replica does while it stands by', async () => {
    const args = [
      '--leader-election-namespace',
      ns.name,
      '--leader-election-id',
      'startup',
      '--lease-duration',
      '4s',
    ];
    const first = await startControllerProcess({ namespace: ns.name, name: 'first', args });
    running.push(first);
    const readyz = async (p: SluiceProcess) => {
      const response = await fetch(`http://127.0.0.1:${p.port}/readyz`);
      return `${response.status} ${(await response.text()).trim()}`;
    };
    await eventually('the first replica to lead', async () =>
      (await readyz(first)).startsWith('200 ok: leading'),
    );
    expect(await readyz(first)).toBe(`200 ok: leading (Lease ${ns.name}/startup)`);
    const second = await startControllerProcess({ namespace: ns.name, name: 'second', args });
    running.push(second);
    const standby = await eventually('the second replica to see the holder', async () => {
      const text = await readyz(second);
      return text.includes('standby') ? text : undefined;
    });
    expect(standby).toBe(
      `200 ok: standby: the Lease ${ns.name}/startup is held by ${await holder('startup')}`,
    );
    expect(standby).toContain(`-${first.child.pid}`);
  });

  it('exits naming the Lease when RBAC takes it away while leading', async () => {
    const kubeconfig = await userWith('revoked', [...WATCH, SECRETS, LEASES]);
    const leader = await startControllerProcess({
      namespace: ns.name,
      name: 'revoked',
      kubeconfig,
      args: [
        '--leader-election-namespace',
        ns.name,
        '--leader-election-id',
        'revoked',
        '--lease-duration',
        '4s',
      ],
    });
    running.push(leader);
    await eventually('the replica to lead', async () => (await leader.log()).includes('became the leader'));
    await ns.kube.wire.request(
      HttpMethod.DELETE,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings/revoked`,
    );
    const code = await Promise.race([
      leader.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000)),
    ]);
    expect(code).toBe(1);
    const said = (await leader.log()).split('\n').filter((line) => line.trim() && !line.startsWith('{'));
    expect(said).toEqual([
      expect.stringMatching(
        new RegExp(`^sluice: leader election: not allowed to (read|update) the Lease ${ns.name}/revoked`),
      ),
    ]);
  });
});

async function holder(name: string): Promise<string | undefined> {
  const lease = await ns.kube.coordination.readNamespacedLease({ name, namespace: ns.name });
  return lease.spec?.holderIdentity || undefined;
}
