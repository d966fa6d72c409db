import type { KubeConfig, KubernetesObject, RequestContext } from '@kubernetes/client-node';
import { ApiException, HttpMethod, KubernetesObjectApi, PatchStrategy } from './library.ts';

export interface ListOptions {
  /**
   * Served from the apiserver's watch cache as it stands (`resourceVersion=0`), not a
   * consistent read. A consistent read waits for that cache to catch up with etcd and, when
   * it lags (thousands of pods changing at once), reads every object of the namespace from
   * etcd instead: 54 s a pod list at 10 000 canaries in one namespace, then a timeout.
   */
  fromCache?: boolean;
}

/**
 * A namespaced resource by its REST coordinates: no discovery needed, and no generated API
 * class (CoreV1Api, CustomObjectsApi, …) loaded for it (decision 0029-client-node-subset).
 */
export interface ResourceRef {
  /** The API group; '' or absent for the core group (`/api/v1`). */
  group?: string;
  version: string;
  /** The resource's plural name as in its URL: `secrets`, `events`, `metrictemplates`. */
  plural: string;
  namespace: string;
}

/** A namespaced resource of the core group (`/api/v1`): `secrets`, `configmaps`, `events`. */
export function coreResource(plural: string, namespace: string): ResourceRef {
  return { version: 'v1', plural, namespace };
}

/** The REST path of a namespaced resource's collection, or of one object with `name`. */
export function resourcePath(ref: ResourceRef, name?: string): string {
  const version = encodeURIComponent(ref.version);
  const root = ref.group ? `/apis/${encodeURIComponent(ref.group)}/${version}` : `/api/${version}`;
  const collection = `${root}/namespaces/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.plural)}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

/**
 * The generic object client of @kubernetes/client-node serialises known kinds through
 * its generated models, which drops wire fields whose names are not identifiers
 * (`x-kubernetes-int-or-string`, `default` in CRD schemas) and turns timestamps into
 * Dates. Sluice reads and writes objects exactly as the apiserver sends them, so this
 * client reuses the library's discovery and authentication but sends and returns plain JSON.
 */
export class WireObjectApi extends KubernetesObjectApi {
  static fromConfig(kc: KubeConfig): WireObjectApi {
    const client = kc.makeApiClient(WireObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  /** The REST path of an object (or of its collection with `collection: true`). */
  async pathOf(object: KubernetesObject, collection = false): Promise<string> {
    return this.specUriPath(structuredClone(object), collection ? 'create' : 'read');
  }

  async request<T>(
    method: HttpMethod,
    path: string,
    options: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {},
  ): Promise<T> {
    const context: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    context.setHeaderParam('Accept', 'application/json');
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) context.setQueryParam(key, value);
    }
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    const auth = this.configuration.authMethods;
    await auth.BearerToken?.applySecurityAuthentication(context);
    await auth.default?.applySecurityAuthentication(context);
    const response = await this.configuration.httpApi.send(context).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      throw new ApiException(
        response.httpStatusCode,
        `HTTP ${response.httpStatusCode} ${method} ${path}`,
        body,
        response.headers,
      );
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Server-side apply of exactly the fields in `object`. */
  async applyObject<T extends KubernetesObject>(
    object: T,
    options: { fieldManager: string; force: boolean; dryRun?: boolean },
  ): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, await this.pathOf(object), {
      body: object,
      contentType: PatchStrategy.ServerSideApply,
      query: {
        fieldManager: options.fieldManager,
        force: String(options.force),
        dryRun: options.dryRun ? 'All' : undefined,
      },
    });
  }

  /** Reads an object as the apiserver sends it. */
  async getObject<T = KubernetesObject>(ref: KubernetesObject): Promise<T> {
    return this.request<T>(HttpMethod.GET, await this.pathOf(ref));
  }

  /** A merge patch of the object or one of its subresources (e.g. `status`). */
  async mergePatchObject<T = KubernetesObject>(
    ref: KubernetesObject,
    patch: unknown,
    options: { subresource?: string; fieldManager?: string } = {},
  ): Promise<T> {
    const path = (await this.pathOf(ref)) + (options.subresource ? `/${options.subresource}` : '');
    return this.request<T>(HttpMethod.PATCH, path, {
      body: patch,
      contentType: PatchStrategy.MergePatch,
      query: { fieldManager: options.fieldManager },
    });
  }

  /** Reads one object by its REST coordinates, as the apiserver sends it (never from a cache). */
  async readResource<T>(ref: ResourceRef, name: string): Promise<T> {
    return this.request<T>(HttpMethod.GET, resourcePath(ref, name));
  }

  /** Creates an object in the collection at `ref`. */
  async createResource<T>(ref: ResourceRef, body: unknown, options: { dryRun?: boolean } = {}): Promise<T> {
    return this.request<T>(HttpMethod.POST, resourcePath(ref), {
      body,
      query: { dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** A JSON merge patch of one object by its REST coordinates (content type set explicitly). */
  async mergePatchResource<T>(
    ref: ResourceRef,
    name: string,
    patch: unknown,
    options: { dryRun?: boolean } = {},
  ): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, resourcePath(ref, name), {
      body: patch,
      contentType: PatchStrategy.MergePatch,
      query: { dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /** Lists a namespaced collection by its REST coordinates; the list as the apiserver sends it. */
  async listResource<T>(ref: ResourceRef, options: { labelSelector?: string } = {}): Promise<T> {
    return this.request<T>(HttpMethod.GET, resourcePath(ref), {
      query: { labelSelector: options.labelSelector },
    });
  }

  /** Deletes one object by its REST coordinates (the apiserver's default propagation). */
  async deleteResource(ref: ResourceRef, name: string): Promise<void> {
    await this.request(HttpMethod.DELETE, resourcePath(ref, name));
  }

  /** The discovery document of an API group version (`/apis/<group>/<version>`). */
  async apiResources(group: string, version: string): Promise<unknown> {
    return this.request(HttpMethod.GET, `/apis/${group}/${version}`);
  }

  async deleteObject(ref: KubernetesObject, propagationPolicy = 'Background'): Promise<void> {
    await this.request(HttpMethod.DELETE, await this.pathOf(ref), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy },
    });
  }

  async listObjects<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
    options: ListOptions = {},
  ): Promise<T[]> {
    const path = await this.pathOf({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, true);
    // pathOf fills in the default namespace for namespaced kinds; list across all when none given.
    const allNamespaces = namespace ? path : path.replace(/\/namespaces\/[^/]+\//, '/');
    const list = await this.request<{ items: T[] }>(HttpMethod.GET, allNamespaces, {
      query: { labelSelector, ...(options.fromCache ? { resourceVersion: '0' } : {}) },
    });
    return list.items;
  }
}
