import type {
  AppsV1Api,
  AutoscalingV2Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubernetesObject,
  NetworkingV1Api,
  RequestContext,
} from '@kubernetes/client-node';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, wholeLibrary } from './library.ts';
import { WireObjectApi } from './wire.ts';

/** Every write Sluice makes is attributed to this field manager. */
export const FIELD_MANAGER = 'sluice';

export interface Kube {
  kc: KubeConfig;
  /** Generic object access with the library's typed (de)serialisation. */
  objects: KubernetesObjectApi;
  /** Generic object access as plain wire JSON: apply, get, merge patch, delete, list. */
  wire: WireObjectApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  autoscaling: AutoscalingV2Api;
  networking: NetworkingV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
}

/** Loads a kubeconfig from a path, else $KUBECONFIG / ~/.kube/config / in-cluster. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
const pooled = new WeakSet<KubeConfig>();

/**
 * One connection pool per cluster and credentials. @kubernetes/client-node 2.0 builds a new
 * undici Agent for every request, so every request paid a TLS handshake (most of the
 * controller's CPU at a thousand canaries) and left its own idle socket behind. The Agent of
 * the first request is kept and handed to every later request with the same server and
 * credentials (tokens travel in headers and are still applied per request).
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  if (pooled.has(kc)) return kc;
  pooled.add(kc);
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  const pools = new Map<string, Dispatcher>();
  kc.applySecurityAuthentication = async (context: RequestContext) => {
    await authenticate(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const key = JSON.stringify([
      cluster?.server,
      cluster?.caFile,
      cluster?.caData,
      cluster?.skipTLSVerify,
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      user?.name,
      user?.certFile,
      user?.certData,
      user?.keyFile,
      user?.keyData,
    ]);
    const pool = pools.get(key);
    if (pool) {
      context.setDispatcher(pool);
      // The fresh Agent never connected: closing it frees nothing but its bookkeeping.
      void fresh.close().catch(() => undefined);
    } else {
      pools.set(key, fresh);
    }
  };
  return kc;
}

export function connect(kc: KubeConfig): Kube {
  reuseConnections(kc);
  // The generated API clients are made at their first use: the first one loads the whole
  // library (src/kube/library.ts), which a controller that has not needed one does not carry.
  const generated = {
    objects: () => KubernetesObjectApi.makeApiClient(kc),
    core: () => kc.makeApiClient(wholeLibrary().CoreV1Api),
    apps: () => kc.makeApiClient(wholeLibrary().AppsV1Api),
    autoscaling: () => kc.makeApiClient(wholeLibrary().AutoscalingV2Api),
    networking: () => kc.makeApiClient(wholeLibrary().NetworkingV1Api),
    custom: () => kc.makeApiClient(wholeLibrary().CustomObjectsApi),
    coordination: () => kc.makeApiClient(wholeLibrary().CoordinationV1Api),
    events: () => kc.makeApiClient(wholeLibrary().EventsV1Api),
  } satisfies { [K in Exclude<keyof Kube, 'kc' | 'wire'>]: () => Kube[K] };
  const kube = { kc, wire: WireObjectApi.fromConfig(kc) };
  for (const [name, make] of Object.entries(generated)) {
    let client: unknown;
    Object.defineProperty(kube, name, { enumerable: true, get: () => (client ??= make()) });
  }
  return kube as Kube;
}

/**
 * The same client with another wire client (a read-through cache in front of it). Not a
 * spread: spreading would call every getter of `connect` and load the whole library.
 */
export function withWire(kube: Kube, wire: WireObjectApi): Kube {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(kube)) as Kube;
  return Object.defineProperty(copy, 'wire', { value: wire, enumerable: true });
}

/** Header options for the generated clients' patch methods, which default to JSON Patch. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export interface ApplyOptions {
  /** Take ownership of fields another manager set (conflicts are errors otherwise). */
  force?: boolean;
  fieldManager?: string;
  dryRun?: boolean;
}

/**
 * Server-side apply: the object holds exactly the fields Sluice wants to own; fields
 * other managers set (filters, annotations, rules) are left alone.
 */
export async function apply<T extends KubernetesObject>(
  kube: Pick<Kube, 'wire'>,
  object: T,
  options: ApplyOptions = {},
): Promise<T & KubernetesObject> {
  return kube.wire.applyObject<T & KubernetesObject>(object, {
    fieldManager: options.fieldManager ?? FIELD_MANAGER,
    force: options.force ?? true,
    dryRun: options.dryRun,
  });
}

/** The HTTP status of an error thrown by @kubernetes/client-node, if it has one. */
export function statusCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;
export const isConflict = (error: unknown): boolean => statusCode(error) === 409;
export const isAlreadyExists = (error: unknown): boolean => statusCode(error) === 409;

/** The `message` of a Kubernetes Status error body, or the error's own message. */
export function apiErrorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'body' in error) {
    const body = (error as { body: unknown }).body;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      return text;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
