// The local traffic layer: an HTTP proxy per Service that does what the mesh sidecars or
// the gateway would do in a real cluster. It routes every request by the live
// VirtualService / HTTPRoute (see routing.ts), sends it to a Ready pod's local process
// (Service → EndpointSlices → pod → the runtime's registry), and counts it in the series
// Istio's destination sidecars export, so Sluice's analysis reads real numbers.
// Development tooling: see docs/local-runtime.md for what it does and does not do.

import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { HttpMethod } from '@kubernetes/client-node';
import { z } from 'zod';
import { collectionPath, Informer } from '../controller/informers.ts';
import type { Kube } from '../kube/client.ts';
import { statusCode } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import {
  HTTP_PROXIES,
  HTTP_ROUTES,
  TRAEFIK_SERVICES,
  VIRTUAL_SERVICES,
  type CachedResource,
} from '../routers/factory.ts';
import type { PodProcess, ProcessRegistry } from './registry.ts';
import { httpProxySchema, type HttpProxy } from './routing-contour.ts';
import { traefikServiceSchema, type TraefikService } from './routing-traefik.ts';
import {
  applyHeaderOps,
  decide,
  httpRouteSchema,
  pickWeighted,
  serviceFqdn,
  virtualServiceSchema,
  type BackendRef,
  type HttpRoute,
  type ProxyIdentity,
  type RouteDecision,
  type RouteRequest,
  type RoutingObjects,
  type VirtualService,
} from './routing.ts';

// ---------------------------------------------------------------------------------------
// The cluster state routing needs, kept current by watches.

const endpointSliceSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  endpoints: z
    .array(
      z.looseObject({
        conditions: z
          .looseObject({ ready: z.boolean().nullish(), terminating: z.boolean().nullish() })
          .optional(),
        targetRef: z
          .looseObject({ kind: z.string().optional(), name: z.string(), namespace: z.string().optional() })
          .nullish(),
      }),
    )
    .nullish(),
});

interface SliceEndpoints {
  namespace: string;
  service: string;
  pods: { pod: string; namespace: string; ready: boolean }[];
}

type Watched = { metadata?: { name?: string; namespace?: string } };

/** A resource the proxies watch, and what each change of one of its objects does. */
interface Watch {
  group: string;
  version: string;
  plural: string;
  onEvent: (event: string, object: Watched) => void;
}

/**
 * Watches Services, EndpointSlices, VirtualServices, HTTPRoutes, HTTPProxies and
 * TraefikServices (in one namespace or all) and keeps them parsed for the proxies. A routing kind whose CRD is not installed is
 * simply absent.
 */
export class ClusterRoutes {
  readonly #kube: Kube;
  readonly #log: Logger;
  readonly #namespace: string | undefined;
  readonly #informers: Informer<Watched & { kind?: string }>[] = [];
  readonly #services = new Set<string>();
  readonly #slices = new Map<string, SliceEndpoints>();
  readonly #virtualServices = new Map<string, VirtualService>();
  readonly #httpRoutes = new Map<string, HttpRoute>();
  readonly #httpProxies = new Map<string, HttpProxy>();
  readonly #traefikServices = new Map<string, TraefikService>();

  constructor(kube: Kube, log: Logger, namespace?: string) {
    this.#kube = kube;
    this.#log = log;
    this.#namespace = namespace;
  }

  async start(): Promise<void> {
    const keyOf = (object: Watched) => `${object.metadata?.namespace}/${object.metadata?.name}`;
    /** Watches a routing resource the routers write, keeping its objects parsed by `schema` in `into`. */
    const parsed = <T>(resource: CachedResource, schema: z.ZodType<T>, into: Map<string, T>): Watch => ({
      ...resource,
      onEvent: (event, object) => {
        if (event === 'delete') return void into.delete(keyOf(object));
        const result = schema.safeParse(object);
        if (result.success) into.set(keyOf(object), result.data);
        else {
          into.delete(keyOf(object));
          this.#log.warn(
            { object: keyOf(object), issues: result.error.issues },
            `${resource.kind} not understood; ignoring it`,
          );
        }
      },
    });
    const watches: Watch[] = [
      {
        group: '',
        version: 'v1',
        plural: 'services',
        onEvent: (event, object) =>
          event === 'delete' ? this.#services.delete(keyOf(object)) : this.#services.add(keyOf(object)),
      },
      {
        group: 'discovery.k8s.io',
        version: 'v1',
        plural: 'endpointslices',
        onEvent: (event, object) => {
          if (event === 'delete') return void this.#slices.delete(keyOf(object));
          const slice = endpointSliceSchema.safeParse(object);
          const service = slice.success
            ? slice.data.metadata.labels?.['kubernetes.io/service-name']
            : undefined;
          if (!slice.success || !service) return void this.#slices.delete(keyOf(object));
          const namespace = slice.data.metadata.namespace;
          this.#slices.set(keyOf(object), {
            namespace,
            service,
            pods: (slice.data.endpoints ?? []).flatMap((endpoint) =>
              endpoint.targetRef && (endpoint.targetRef.kind ?? 'Pod') === 'Pod'
                ? [
                    {
                      pod: endpoint.targetRef.name,
                      namespace: endpoint.targetRef.namespace ?? namespace,
                      // Unset means ready (EndpointSlice API).
                      ready: endpoint.conditions?.ready !== false,
                    },
                  ]
                : [],
            ),
          });
        },
      },
      parsed(VIRTUAL_SERVICES, virtualServiceSchema, this.#virtualServices),
      parsed(HTTP_ROUTES, httpRouteSchema, this.#httpRoutes),
      parsed(HTTP_PROXIES, httpProxySchema, this.#httpProxies),
      parsed(TRAEFIK_SERVICES, traefikServiceSchema, this.#traefikServices),
    ];
    await Promise.all(
      watches.map(async ({ group, version, plural, onEvent }) => {
        const path = collectionPath(group, version, plural, this.#namespace);
        if (group && !(await this.#served(path))) {
          this.#log.info({ resource: `${plural}.${group}` }, 'not served by this cluster; not watching it');
          return;
        }
        const informer = new Informer<Watched>(this.#kube, path, this.#log, onEvent);
        this.#informers.push(informer);
        await informer.start();
      }),
    );
  }

  async #served(path: string): Promise<boolean> {
    try {
      await this.#kube.wire.request(HttpMethod.GET, path, { query: { limit: '1' } });
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }

  objects(): RoutingObjects {
    return {
      virtualServices: [...this.#virtualServices.values()],
      httpRoutes: [...this.#httpRoutes.values()],
      httpProxies: [...this.#httpProxies.values()],
      traefikServices: [...this.#traefikServices.values()],
    };
  }

  serviceExists(backend: BackendRef): boolean {
    return this.#services.has(`${backend.namespace}/${backend.service}`);
  }

  /** The pods the Service's EndpointSlices list as ready. */
  readyPods(backend: BackendRef): { pod: string; namespace: string }[] {
    const pods: { pod: string; namespace: string }[] = [];
    for (const slice of this.#slices.values()) {
      if (slice.namespace !== backend.namespace || slice.service !== backend.service) continue;
      pods.push(...slice.pods.filter((p) => p.ready));
    }
    return pods;
  }
}

// ---------------------------------------------------------------------------------------
// Istio's standard metrics.

/** The labels of istio_requests_total / istio_request_duration_milliseconds, as Istio names them. */
export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'destination_canonical_service',
  'destination_canonical_revision',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;
export type IstioLabels = Record<(typeof ISTIO_LABELS)[number], string>;

/** Istio's default buckets for istio_request_duration_milliseconds. */
const ISTIO_DURATION_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

export class MeshMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'istio_requests_total',
    help: 'Requests handled by the Sluice dev traffic layer, labelled as an Istio sidecar labels them',
    labelNames: ISTIO_LABELS,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'istio_request_duration_milliseconds',
    help: 'Request duration in the Sluice dev traffic layer, labelled as an Istio sidecar labels it',
    labelNames: ISTIO_LABELS,
    buckets: ISTIO_DURATION_BUCKETS,
    registers: [this.registry],
  });

  // Contour's Envoy and Traefik count the same requests under their own names, so the
  // built-in queries of the contour and traefik providers read this runtime too.
  readonly #envoyRequests = new Counter({
    name: 'envoy_cluster_upstream_rq',
    help: 'Requests per upstream cluster, named as Contour names Envoy clusters (<namespace>_<service>_<port>)',
    labelNames: ['envoy_cluster_name', 'envoy_response_code'],
    registers: [this.registry],
  });
  readonly #envoyTime = new Histogram({
    name: 'envoy_cluster_upstream_rq_time',
    help: 'Upstream request time in milliseconds per cluster, as Envoy reports it',
    labelNames: ['envoy_cluster_name'],
    buckets: ISTIO_DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #traefikRequests = new Counter({
    name: 'traefik_service_requests_total',
    help: 'Requests per Traefik service (<namespace>-<service>-<port>@kubernetescrd)',
    labelNames: ['service', 'code', 'method', 'protocol'],
    registers: [this.registry],
  });
  readonly #traefikDuration = new Histogram({
    name: 'traefik_service_request_duration_seconds',
    help: 'Request duration per Traefik service in seconds',
    labelNames: ['service', 'code', 'method', 'protocol'],
    buckets: [0.1, 0.3, 1.2, 5],
    registers: [this.registry],
  });

  record(
    labels: IstioLabels,
    durationMs: number,
    request: { method: string; port?: number } = { method: 'GET' },
  ): void {
    this.#requests.inc(labels);
    this.#duration.observe(labels, durationMs);
    const namespace = labels.destination_service_namespace;
    const service = labels.destination_service_name;
    if (namespace === 'unknown' || service === 'unknown') return;
    const port = request.port ?? 80;
    const cluster = `${namespace}_${service}_${port}`;
    this.#envoyRequests.inc({ envoy_cluster_name: cluster, envoy_response_code: labels.response_code });
    this.#envoyTime.observe({ envoy_cluster_name: cluster }, durationMs);
    const traefik = {
      service: `${namespace}-${service}-${port}@kubernetescrd`,
      code: labels.response_code,
      method: request.method,
      protocol: 'http',
    };
    this.#traefikRequests.inc(traefik);
    this.#traefikDuration.observe(traefik, durationMs / 1000);
  }
}

export interface SourceIdentity {
  workload: string;
  namespace: string;
}

const UNKNOWN_SOURCE: SourceIdentity = { workload: 'unknown', namespace: 'unknown' };

function sourceLabels(source: SourceIdentity) {
  return {
    source_workload: source.workload,
    source_workload_namespace: source.namespace,
    source_principal: 'unknown',
    source_app: source.workload,
    source_version: 'unknown',
    source_cluster: 'unknown',
    source_canonical_service: source.workload,
    source_canonical_revision: 'latest',
  };
}

/** What a destination sidecar on the pod reports for a request the pod answered. */
export function destinationLabels(
  source: SourceIdentity,
  backend: BackendRef,
  pod: Pick<PodProcess, 'workload' | 'namespace' | 'labels' | 'serviceAccount'>,
  responseCode: number,
): IstioLabels {
  const labels = pod.labels;
  const app = labels.app ?? labels['app.kubernetes.io/name'] ?? 'unknown';
  const version = labels.version ?? labels['app.kubernetes.io/version'] ?? 'unknown';
  return {
    reporter: 'destination',
    ...sourceLabels(source),
    destination_workload: pod.workload,
    destination_workload_namespace: pod.namespace,
    destination_principal: `spiffe://cluster.local/ns/${pod.namespace}/sa/${pod.serviceAccount}`,
    destination_app: app,
    destination_version: version,
    destination_service: serviceFqdn(backend),
    destination_service_name: backend.service,
    destination_service_namespace: backend.namespace,
    destination_cluster: 'Kubernetes',
    destination_canonical_service:
      labels['service.istio.io/canonical-name'] ??
      labels['app.kubernetes.io/name'] ??
      labels.app ??
      pod.workload,
    destination_canonical_revision:
      labels['service.istio.io/canonical-revision'] ??
      labels['app.kubernetes.io/version'] ??
      labels.version ??
      'latest',
    request_protocol: 'http',
    response_code: String(responseCode),
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'none',
  };
}

/**
 * What the sending side reports for a request that never reached a pod (no route, no
 * healthy upstream, connection failure, timeout); the destination sidecar never saw it.
 */
export function sourceFailureLabels(
  source: SourceIdentity,
  backend: BackendRef | undefined,
  responseCode: number,
  responseFlags: string,
): IstioLabels {
  return {
    reporter: 'source',
    ...sourceLabels(source),
    destination_workload: 'unknown',
    destination_workload_namespace: backend?.namespace ?? 'unknown',
    destination_principal: 'unknown',
    destination_app: 'unknown',
    destination_version: 'unknown',
    destination_service: backend ? serviceFqdn(backend) : 'unknown',
    destination_service_name: backend?.service ?? 'unknown',
    destination_service_namespace: backend?.namespace ?? 'unknown',
    destination_cluster: 'unknown',
    destination_canonical_service: 'unknown',
    destination_canonical_revision: 'latest',
    request_protocol: 'http',
    response_code: String(responseCode),
    grpc_response_status: '',
    response_flags: responseFlags,
    connection_security_policy: 'unknown',
  };
}

// ---------------------------------------------------------------------------------------
// The proxy.

export interface ProxySpec {
  /** The Service requests are for (the Canary's apex Service, e.g. `podinfo`). */
  service: string;
  namespace: string;
  /** Extra host names (the Canary's spec.service.hosts, e.g. `podinfo.test`). */
  hosts?: string[];
  /** Act as this Gateway for HTTPRoutes attached to it. */
  gateway?: { name: string; namespace?: string };
  /** Loopback port to listen on (default: any free one). */
  port?: number;
  /** Who the requests come from, for the source_* labels (default `unknown`). */
  source?: SourceIdentity;
}

export interface RunningProxy {
  spec: ProxySpec;
  identity: ProxyIdentity;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface ProxyDeps {
  routes: Pick<ClusterRoutes, 'objects' | 'serviceExists' | 'readyPods'>;
  registry: ProcessRegistry;
  metrics: MeshMetrics;
  log: Logger;
  random?: () => number;
  now?: () => number;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Mirrored requests are fire-and-forget, but not forever. */
const MIRROR_TIMEOUT_MS = 30_000;

function singleValueHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Upstream =
  { process: PodProcess & { url: string; port: number } } | { status: number; flags: string; reason: string };

/** Starts one proxy on loopback for `spec.service`; requests are routed per the live routing objects. */
export async function startProxy(spec: ProxySpec, deps: ProxyDeps): Promise<RunningProxy> {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? (() => performance.now());
  const source = spec.source ?? UNKNOWN_SOURCE;
  const identity: ProxyIdentity = {
    namespace: spec.namespace,
    service: spec.service,
    hosts: spec.hosts ?? [],
    ...(spec.gateway
      ? { gateway: { name: spec.gateway.name, namespace: spec.gateway.namespace ?? spec.namespace } }
      : {}),
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const log = deps.log.child({ proxy: `${spec.namespace}/${spec.service}` });

  /** A ready process behind the Service, or why there is none (Envoy's status and flag). */
  const upstreamFor = (backend: BackendRef, noServiceStatus: number): Upstream => {
    if (!deps.routes.serviceExists(backend)) {
      return {
        status: noServiceStatus,
        flags: 'NC',
        reason: `no Service ${backend.namespace}/${backend.service}`,
      };
    }
    const ready = deps.routes
      .readyPods(backend)
      .map((p) => deps.registry.ready(p.namespace, p.pod))
      .filter((p) => p !== undefined);
    const process = ready[Math.floor(random() * ready.length)] ?? ready[0];
    return process ? { process } : { status: 503, flags: 'UH', reason: 'no healthy upstream' };
  };

  const send = (
    process: PodProcess & { port: number },
    options: {
      method: string;
      path: string;
      headers: Record<string, string>;
      body: Buffer;
      timeoutMs?: number;
    },
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: process.port,
          method: options.method,
          path: options.path,
          headers: options.headers,
          agent,
        },
        resolve,
      );
      if (options.timeoutMs) {
        const timer = setTimeout(
          () => upstream.destroy(Object.assign(new Error('upstream request timeout'), { code: 'UT' })),
          options.timeoutMs,
        );
        upstream.once('response', (response: IncomingMessage) =>
          response.once('close', () => clearTimeout(timer)),
        );
        upstream.once('error', () => clearTimeout(timer));
      }
      upstream.once('error', reject);
      upstream.end(options.body);
    });

  const mirror = (
    backend: BackendRef,
    request: { method: string; path: string; headers: Record<string, string>; body: Buffer },
  ) => {
    const target = upstreamFor(backend, 503);
    if (!('process' in target)) return;
    const begun = now();
    // Envoy marks mirrored requests by suffixing the authority with -shadow.
    const headers = { ...request.headers, host: `${request.headers.host ?? backend.service}-shadow` };
    send(target.process, { ...request, headers, timeoutMs: MIRROR_TIMEOUT_MS }).then(
      (response) => {
        response.resume();
        response.once('end', () =>
          deps.metrics.record(
            destinationLabels(source, backend, target.process, response.statusCode ?? 0),
            now() - begun,
            { method: request.method, ...(backend.port ? { port: backend.port } : {}) },
          ),
        );
      },
      () => undefined,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const begun = now();
    const fail = (
      status: number,
      flags: string,
      reason: string,
      backend: BackendRef | undefined,
      extra: Record<string, string> = {},
    ) => {
      deps.metrics.record(sourceFailureLabels(source, backend, status, flags), now() - begun, {
        method: req.method ?? 'GET',
        ...(backend?.port ? { port: backend.port } : {}),
      });
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'content-type': 'text/plain', 'x-sluice-route': flags, ...extra });
      res.end(`${reason}\n`);
    };

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      return fail(413, 'DI', error instanceof Error ? error.message : String(error), undefined);
    }
    const url = new URL(req.url ?? '/', 'http://proxy');
    const headers = singleValueHeaders(req.headers);
    const request: RouteRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      authority: headers.host ?? '',
    };
    const result = decide(identity, deps.routes.objects(), request);
    if ('noRoute' in result) {
      return fail(404, 'NR', `no route in ${result.noRoute.kind} ${result.noRoute.name} matches`, undefined);
    }
    const decision: RouteDecision = result.decision;
    const path = `${decision.path ?? url.pathname}${url.search}`;
    const baseHeaders = applyHeaderOps(
      {
        ...headers,
        host: decision.authority ?? headers.host ?? spec.service,
        'x-forwarded-for': [headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', '),
        'x-forwarded-proto': 'http',
        'x-request-id': headers['x-request-id'] ?? randomUUID(),
      },
      decision.requestHeaders,
    );

    for (const target of decision.mirrors) {
      if (random() * 100 < target.percent)
        mirror(target.backend, { method: request.method, path, headers: baseHeaders, body });
    }

    const chosen = pickWeighted(decision.backends, random);
    if (!chosen?.backend) {
      const reason =
        chosen?.invalid ??
        (decision.backends.length ? 'every backend has weight 0' : 'the rule has no backends');
      return fail(decision.noBackendStatus, 'NR', reason, undefined);
    }
    const backend = chosen.backend;
    const target = upstreamFor(backend, decision.noBackendStatus);
    if (!('process' in target)) return fail(target.status, target.flags, target.reason, backend);

    let upstream: IncomingMessage;
    try {
      upstream = await send(target.process, {
        method: request.method,
        path,
        headers: applyHeaderOps(baseHeaders, chosen.requestHeaders),
        body,
        ...(decision.timeoutMs ? { timeoutMs: decision.timeoutMs } : {}),
      });
    } catch (error) {
      const timedOut = (error as { code?: string }).code === 'UT';
      log.debug({ err: error, pod: target.process.pod }, 'upstream request failed');
      return timedOut
        ? fail(504, 'UT', 'upstream request timeout', backend)
        : fail(503, 'UF', 'upstream connect error or disconnect/reset before headers', backend);
    }
    const responseHeaders = applyHeaderOps(
      applyHeaderOps(singleValueHeaders(upstream.headers), decision.responseHeaders),
      chosen.responseHeaders,
    );
    const status = upstream.statusCode ?? 502;
    res.writeHead(status, {
      ...responseHeaders,
      'x-envoy-upstream-service-time': String(Math.round(now() - begun)),
      'x-sluice-workload': target.process.workload,
    });
    upstream.pipe(res);
    upstream.once('end', () =>
      deps.metrics.record(destinationLabels(source, backend, target.process, status), now() - begun, {
        method: request.method,
        ...(backend.port ? { port: backend.port } : {}),
      }),
    );
    upstream.once('error', () => res.destroy());
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'proxy failed a request');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('local traffic layer error\n');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ url: `http://127.0.0.1:${port}` }, 'traffic proxy listening');
  return {
    spec,
    identity,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Serves the mesh metrics for Prometheus to scrape, on its own loopback port. */
export async function startMetricsServer(
  metrics: MeshMetrics,
  port = 0,
): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
