import { request as httpsRequest } from 'node:https';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiErrorMessage, apply, connect, isNotFound } from '../kube/client.ts';
import { ensureBinaries, goModuleDir, type Binaries } from './binaries.ts';
import { createPki, issueClientCert, type Pki } from './pki.ts';
import { freePort, isAlive, logTail, startDetached, stopAll, waitFor } from './process.ts';
import type { Progress } from './progress.ts';
import { VERSIONS } from './versions.ts';

/** The repository (or installed package) root: two levels above this file in src/ and dist/. */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

export interface ClusterEnv {
  stateDir: string;
  kubeconfig: string;
  apiserverUrl: string;
  prometheusUrl: string;
  prometheusTargetsDir: string;
}

interface ClusterState extends ClusterEnv {
  versions: typeof VERSIONS;
  pids: Record<string, number>;
  ports: Record<string, number>;
  startedAt: string;
}

export interface UpOptions {
  stateDir: string;
  progress: Progress;
  /** Extra CRD files or directories to install besides Sluice's own and the upstream ones. */
  extraCrds?: string[];
  /** How many simulated nodes kwok manages (default 2). */
  nodes?: number;
  /** Extra kube-apiserver flags (the benchmarks turn on an audit log with them). */
  apiserverArgs?: string[];
  /** Extra kube-controller-manager flags, after the harness's own (the last of a repeated flag wins). */
  controllerManagerArgs?: string[];
  /** Extra kube-scheduler flags, after the harness's own. */
  schedulerArgs?: string[];
}

const STATE_FILE = 'state.json';

async function readState(stateDir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, STATE_FILE), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function httpsGet(
  url: string,
  pki: Pki,
  client: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return response.ok;
}

/** A kubeconfig for a client-certificate user of the local apiserver. */
export function kubeconfigYaml(server: string, pki: Pki, user: string, cert: string, key: string): string {
  const read = (path: string) => readFileSync(path).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'sluice-local', cluster: { server, 'certificate-authority-data': read(pki.caCert) } },
      ],
      users: [{ name: user, user: { 'client-certificate-data': read(cert), 'client-key-data': read(key) } }],
      contexts: [{ name: 'sluice-local', context: { cluster: 'sluice-local', user, namespace: 'default' } }],
      'current-context': 'sluice-local',
    },
    null,
    2,
  );
}

/**
 * Writes a kubeconfig for another user (CN=user, O=groups) of a running local cluster, so
 * tests can run Sluice under its own least-privilege RBAC identity.
 */
export async function addUser(stateDir: string, user: string, groups: string[] = []): Promise<string> {
  const state = await readState(stateDir);
  if (!state) throw new Error(`no local cluster in ${stateDir}`);
  const pki = await createPki(join(stateDir, 'pki'));
  const { cert, key } = await issueClientCert(pki, user, groups);
  const path = join(stateDir, `kubeconfig-${user.replace(/[^a-zA-Z0-9_.-]/g, '_')}`);
  await writeFile(path, kubeconfigYaml(state.apiserverUrl, pki, user, cert, key), { mode: 0o600 });
  return path;
}

/**
 * A cluster-admin kubeconfig for each of `users`, keyed as they are: each controller a user
 * of its own, so the audit log tells their requests apart.
 */
export async function addAdmins<K extends string>(
  stateDir: string,
  users: Readonly<Record<K, string>>,
): Promise<Record<K, string>> {
  const kubeconfigs = {} as Record<K, string>;
  for (const key of Object.keys(users) as K[])
    kubeconfigs[key] = await addUser(stateDir, users[key], ['system:masters']);
  return kubeconfigs;
}

/** Is the cluster recorded in stateDir still running and serving? */
async function healthy(state: ClusterState): Promise<boolean> {
  if (!Object.values(state.pids).every(isAlive)) return false;
  try {
    const pki = await createPki(join(state.stateDir, 'pki'));
    const admin = await issueClientCert(pki, 'admin', ['system:masters']);
    const ready = await httpsGet(`${state.apiserverUrl}/readyz`, pki, admin);
    return ready.status === 200 && (await httpOk(`${state.prometheusUrl}/-/ready`));
  } catch {
    return false;
  }
}

export function envOf(state: ClusterEnv): ClusterEnv {
  return {
    stateDir: state.stateDir,
    kubeconfig: state.kubeconfig,
    apiserverUrl: state.apiserverUrl,
    prometheusUrl: state.prometheusUrl,
    prometheusTargetsDir: state.prometheusTargetsDir,
  };
}

/** Lines a shell can eval to talk to the local cluster. */
export function exportLines(env: ClusterEnv): string {
  return [`export KUBECONFIG=${env.kubeconfig}`, `export PROMETHEUS_URL=${env.prometheusUrl}`].join('\n');
}

/** The namespace an install runs the controller in, and where its leader Lease lives. */
export const CONTROLLER_NAMESPACE = 'sluice-system';

/**
 * Starts (or finds running) a local control plane: etcd, kube-apiserver with RBAC and
 * client-certificate auth, kube-controller-manager, kube-scheduler, kwok with simulated
 * nodes, and Prometheus; installs Sluice's CRDs and the upstream Istio, Gateway API and SMI ones,
 * and creates the namespace `sluice-system`, as an install does.
 */
export async function up(options: UpOptions): Promise<ClusterEnv> {
  const stateDir = resolve(options.stateDir);
  const { progress } = options;
  const existing = await readState(stateDir);
  if (existing) {
    if (await healthy(existing)) {
      progress.info(`local control plane already running (${stateDir})`);
      return envOf(existing);
    }
    progress.info(`found a stale local control plane in ${stateDir}; replacing it`);
    await down(stateDir);
  }

  const bins = await ensureBinaries(progress);
  await mkdir(join(stateDir, 'logs'), { recursive: true });
  const pids: Record<string, number> = {};
  const ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    kwok: await freePort(),
    prometheus: await freePort(),
  };
  const log = (name: string) => join(stateDir, 'logs', `${name}.log`);
  const state: ClusterState = {
    stateDir,
    kubeconfig: join(stateDir, 'kubeconfig'),
    apiserverUrl: `https://127.0.0.1:${ports.apiserver}`,
    prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
    prometheusTargetsDir: join(stateDir, 'prometheus', 'targets'),
    versions: VERSIONS,
    pids,
    ports,
    startedAt: new Date().toISOString(),
  };
  // Record pids as they start so `down` can stop a half-started cluster.
  const saveState = () => writeFile(join(stateDir, STATE_FILE), JSON.stringify(state, null, 2));

  try {
    await progress.step('starting etcd, kube-apiserver and Prometheus', async () => {
      const pki = await createPki(join(stateDir, 'pki'));
      const admin = await issueClientCert(pki, 'admin', ['system:masters']);
      await writeFile(
        state.kubeconfig,
        kubeconfigYaml(state.apiserverUrl, pki, 'admin', admin.cert, admin.key),
        {
          mode: 0o600,
        },
      );

      pids.etcd = startDetached(bins.etcd, etcdArgs(stateDir, ports), log('etcd'));
      pids.prometheus = await startPrometheus(bins, stateDir, ports.prometheus, log('prometheus'));
      await saveState();
      await waitFor('etcd', () => httpOk(`http://127.0.0.1:${ports.etcdClient}/health`), {
        timeoutMs: 30_000,
        pid: pids.etcd,
        describe: () => logTail(log('etcd')),
      });

      const frontProxy = await issueClientCert(pki, FRONT_PROXY_CLIENT, []);
      pids.apiserver = startDetached(
        bins.kubeApiserver,
        [
          ...apiserverArgs(stateDir, pki, ports),
          ...aggregationArgs(pki, frontProxy),
          ...(options.apiserverArgs ?? []),
        ],
        log('kube-apiserver'),
      );
      await saveState();
      await waitFor(
        'kube-apiserver',
        async () => (await httpsGet(`${state.apiserverUrl}/readyz`, pki, admin)).status === 200,
        {
          timeoutMs: 90_000,
          intervalMs: 500,
          pid: pids.apiserver,
          describe: () => logTail(log('kube-apiserver')),
        },
      );
    });

    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);

    await progress.step('starting kube-controller-manager, kube-scheduler and kwok', async () => {
      const pki = await createPki(join(stateDir, 'pki'));
      pids.controllerManager = startDetached(
        bins.kubeControllerManager,
        [
          ...controllerManagerArgs(state.kubeconfig, pki, ports.controllerManager),
          ...(options.controllerManagerArgs ?? []),
        ],
        log('kube-controller-manager'),
      );
      pids.scheduler = startDetached(
        bins.kubeScheduler,
        [
          `--kubeconfig=${state.kubeconfig}`,
          `--authentication-kubeconfig=${state.kubeconfig}`,
          `--authorization-kubeconfig=${state.kubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${ports.scheduler}`,
          ...(options.schedulerArgs ?? []),
        ],
        log('kube-scheduler'),
      );
      const kwokConfig = join(stateDir, 'kwok.yaml');
      await writeFile(kwokConfig, await kwokConfiguration());
      pids.kwok = startDetached(
        bins.kwok,
        [
          `--kubeconfig=${state.kubeconfig}`,
          `--config=${kwokConfig}`,
          '--manage-all-nodes=true',
          '--cidr=10.244.0.0/16',
          '--node-ip=127.0.0.1',
          `--server-address=127.0.0.1:${ports.kwok}`,
        ],
        log('kwok'),
      );
      await saveState();
      await createNodes(kc, options.nodes ?? 2);
      const core = kc.makeApiClient(CoreV1Api);
      await waitFor(
        'kwok nodes Ready',
        async () => {
          const nodes = await core.listNode();
          return nodes.items.length > 0 && nodes.items.every(nodeReady);
        },
        { timeoutMs: 60_000, pid: pids.kwok, describe: () => logTail(log('kwok')) },
      );
      // The service-account controller of kube-controller-manager creates `default` in
      // every namespace; pods are rejected until it exists.
      await waitFor(
        'kube-controller-manager',
        async () => {
          try {
            await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
            return true;
          } catch (error) {
            if (isNotFound(error)) return false;
            throw error;
          }
        },
        {
          timeoutMs: 60_000,
          pid: pids.controllerManager,
          describe: () => logTail(log('kube-controller-manager')),
        },
      );
    });

    await progress.step(
      'installing CRDs (Sluice, Istio, Gateway API, SMI, Contour, Traefik, Knative)',
      async (update) => {
        const files = await crdFiles(options.extraCrds ?? []);
        update(`${files.length} files`);
        await installCrds(kc, files);
      },
    );
    // As an install has it: the controller's leader Lease lives there by default.
    await apply(
      connect(kc),
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: CONTROLLER_NAMESPACE },
      },
      { fieldManager: 'sluice-dev' },
    );

    await waitFor('Prometheus', () => httpOk(`${state.prometheusUrl}/-/ready`), {
      timeoutMs: 30_000,
      pid: pids.prometheus,
      describe: () => logTail(log('prometheus')),
    });
    await saveState();
    return envOf(state);
  } catch (error) {
    await stopAll(Object.values(pids));
    throw error;
  }
}

/** Stops every process the harness recorded in stateDir and removes the state. */
export async function down(
  stateDir: string,
  options: { keepFiles?: boolean } = {},
): Promise<{ stopped: number }> {
  const state = await readState(resolve(stateDir));
  const pids = state ? Object.values(state.pids) : [];
  await stopAll(pids);
  if (options.keepFiles) await rm(join(resolve(stateDir), STATE_FILE), { force: true });
  else await rm(resolve(stateDir), { recursive: true, force: true });
  return { stopped: pids.length };
}

/** The pids of the processes a harness state directory records (for exit handlers). */
export function recordedPids(stateDir: string): number[] {
  try {
    const state = JSON.parse(readFileSync(join(resolve(stateDir), STATE_FILE), 'utf8')) as ClusterState;
    return Object.values(state.pids);
  } catch {
    return [];
  }
}

export async function env(stateDir: string): Promise<ClusterEnv | undefined> {
  const state = await readState(resolve(stateDir));
  return state && (await healthy(state)) ? envOf(state) : undefined;
}

function etcdArgs(stateDir: string, ports: { etcdClient: number; etcdPeer: number }): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=default',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--unsafe-no-fsync=true',
    '--quota-backend-bytes=8589934592',
    '--log-level=warn',
  ];
}

function apiserverArgs(
  stateDir: string,
  pki: Pki,
  ports: { etcdClient: number; apiserver: number },
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(stateDir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    `--service-account-issuer=https://127.0.0.1:${ports.apiserver}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--disable-admission-plugins=ServiceAccount',
    '--profiling=false',
    '--v=1',
  ];
}

/** The client the aggregation layer presents to APIService backends (external metrics, …). */
const FRONT_PROXY_CLIENT = 'front-proxy-client';

/**
 * The aggregation layer: the apiserver proxies APIService groups (external.metrics.k8s.io,
 * …) with this client certificate and passes the user in X-Remote-* headers, which a
 * backend trusts only from a certificate signed by the requestheader CA with that name.
 */
function aggregationArgs(pki: Pki, client: { cert: string; key: string }): string[] {
  return [
    `--requestheader-client-ca-file=${pki.caCert}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${client.cert}`,
    `--proxy-client-key-file=${client.key}`,
  ];
}

function controllerManagerArgs(kubeconfig: string, pki: Pki, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--use-service-account-credentials=false',
    // No cloud, no IPAM: kwok hands out pod IPs itself.
    '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
    '--concurrent-deployment-syncs=10',
    '--concurrent-replicaset-syncs=10',
    '--kube-api-qps=200',
    '--kube-api-burst=400',
  ];
}

/** Prometheus on loopback scraping `<stateDir>/prometheus/targets/*.json`; also the promq bench's. */
export async function startPrometheus(
  bins: Pick<Binaries, 'prometheus'>,
  stateDir: string,
  port: number,
  logFile: string,
  scrapeIntervalS = 1,
): Promise<number> {
  const dir = join(stateDir, 'prometheus');
  const targets = join(dir, 'targets');
  await mkdir(targets, { recursive: true });
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      '# Written by the Sluice dev harness. Scrape targets come from targets/*.json (file_sd).',
      'global:',
      `  scrape_interval: ${scrapeIntervalS}s`,
      `  scrape_timeout: ${scrapeIntervalS}s`,
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: sluice-dev',
      '    file_sd_configs:',
      `      - files: ['${targets}/*.json']`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'),
  );
  return startDetached(
    bins.prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    logFile,
  );
}

/**
 * What a kubelet does and kwok's shipped stages do not: report a running pod Ready again. When
 * the apiserver has been away longer than the node lease, kube-controller-manager marks the
 * node's pods NotReady (Ready False, containers still ready); a kubelet sets Ready back once its
 * node reports in, kwok's pod stages only ready a Pending pod, so without this the pod stayed
 * NotReady for good (the outages scenario's 60 s apiserver gap). A pod whose containers failed
 * (the chaos stage sets ContainersReady False too) is left as it is.
 */
const POD_READY_AGAIN = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sluice-pod-ready-again
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "ContainersReady" ) | .status'
      operator: 'In'
      values: ['True']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  delay:
    durationMilliseconds: 1000
  next:
    statusTemplate: |
      conditions:
      - lastTransitionTime: {{ Now | Quote }}
        status: "True"
        type: Ready
`;

/**
 * kwok's configuration with the stages kwok itself ships in its module: nodes become
 * Ready and keep heartbeating through leases; scheduled pods get an IP and turn Running
 * and Ready (and Ready again after their node was away: POD_READY_AGAIN); deleted pods go away. The chaos stages let a test make a pod's containers
 * fail (label `pod-container-running-failed.stage.kwok.x-k8s.io: "true"`), which is how
 * a crash-looping release is simulated.
 */
async function kwokConfiguration(): Promise<string> {
  const stages = join(await goModuleDir('sigs.k8s.io/kwok', VERSIONS.kwok), 'kustomize', 'stage');
  const files = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
    'pod/chaos/pod-container-running-failed.yaml',
  ];
  const docs = [
    POD_READY_AGAIN,
    'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  nodeLeaseDurationSeconds: 40\n  nodeLeaseParallelism: 4\n  nodePlayStageParallelism: 4\n  podPlayStageParallelism: 8\n  podsOnNodeSyncParallelism: 4\n',
  ];
  for (const file of files) docs.push(await readFile(join(stages, file), 'utf8'));
  return docs.join('\n---\n');
}

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function createNodes(kc: KubeConfig, count: number): Promise<void> {
  const kube = connect(kc);
  for (let i = 0; i < count; i += 1) {
    await apply(kube, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': `kwok-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '1000', memory: '4Ti', pods: '5000' },
        capacity: { cpu: '1000', memory: '4Ti', pods: '5000' },
      },
    } as V1Node);
  }
}

/** Sluice's own CRDs, then the upstream ones from their Go modules at pinned versions. */
async function crdFiles(extra: string[]): Promise<string[]> {
  const yamlIn = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(dir, f));
  const files = [
    ...(await yamlIn(join(PACKAGE_ROOT, 'crds'))),
    ...(await yamlIn(join(PACKAGE_ROOT, 'src', 'dev', 'crds'))),
  ];
  const istio = await goModuleDir('istio.io/api', VERSIONS.istioApi);
  files.push(join(istio, 'kubernetes', 'customresourcedefinitions.gen.yaml'));
  const gateway = await goModuleDir('sigs.k8s.io/gateway-api', VERSIONS.gatewayApi);
  files.push(...(await yamlIn(join(gateway, 'config', 'crd', 'standard'))));
  // Each provider's routing CRDs from the module the provider publishes, at a pinned version.
  // Kuma, APISIX, Gloo Edge and Skipper's modules are not served to the build (and Skipper
  // routes through Ingress, which needs none); docs/routing.md says which is which.
  const contour = await goModuleDir('github.com/projectcontour/contour', VERSIONS.contour);
  files.push(join(contour, 'examples', 'contour', '01-crds.yaml'));
  const traefik = await goModuleDir('github.com/traefik/traefik/v3', VERSIONS.traefik);
  files.push(
    join(
      traefik,
      'docs',
      'content',
      'reference',
      'dynamic-configuration',
      'kubernetes-crd-definition-v1.yml',
    ),
  );
  const knative = await goModuleDir('knative.dev/serving', VERSIONS.knativeServing);
  files.push(...(await yamlIn(join(knative, 'config', 'core', '300-resources'))));
  for (const path of extra) {
    const entries = await yamlIn(path);
    files.push(...(entries.length ? entries : [path]));
  }
  return files;
}

export async function installCrds(kc: KubeConfig, files: string[]): Promise<void> {
  const kube = connect(kc);
  const names: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const object = doc.toJS() as {
        kind?: string;
        apiVersion?: string;
        metadata?: { name?: string };
      } | null;
      // Gateway API ships a ValidatingAdmissionPolicy beside its CRDs; only CRDs go in.
      if (!object || object.kind !== 'CustomResourceDefinition' || !object.metadata?.name) continue;
      try {
        await apply(kube, object as Parameters<typeof apply>[1]);
      } catch (error) {
        throw new Error(`installing CRD ${object.metadata.name} from ${file}: ${apiErrorMessage(error)}`, {
          cause: error,
        });
      }
      names.push(object.metadata.name);
    }
  }
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await waitFor(
    'CRDs established',
    async () => {
      const list = await ext.listCustomResourceDefinition();
      const established = new Set(
        list.items
          .filter((crd) =>
            crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
          )
          .map((crd) => crd.metadata?.name),
      );
      return names.every((name) => established.has(name));
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
}
