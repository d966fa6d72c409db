import type { KubernetesObject } from '@kubernetes/client-node';
import { bulkhead } from 'cockatiel';
import { HttpMethod, ListWatch, Watch } from '../kube/library.ts';
import type { Logger } from '../log.ts';
import { apiErrorMessage, statusCode, type Kube } from '../kube/client.ts';
import { slimForCache } from '../kube/slim.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

/**
 * Objects one list request asks for (client-go's pager asks the same). The 20 000
 * Deployments of 10 000 canaries taken whole are a response of about 56 MB (2.8 KB each),
 * several times that once parsed, all beside the cache it replaces; in that bench the
 * controller (295 MB of its 384 MB heap in use) exited during the relist after an apiserver
 * restart (docs/performance.md). In pages, each is slimmed before the next is asked for.
 */
export const LIST_PAGE_SIZE = 500;

/**
 * The process' informers list one at a time. A list ends beside the cache it replaces (the
 * library swaps the objects in when it has them all), and after an apiserver restart every
 * informer relists at once: in turn, the extra memory is one collection's, not the whole
 * cache's again. A list is bounded by the apiserver's own request timeout (60 s by default).
 */
const oneListAtATime = bulkhead(1, Number.POSITIVE_INFINITY);

interface ListPage<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/**
 * A whole collection, asked for `pageSize` objects at a time and slimmed page by page. All
 * pages are one snapshot (the apiserver's continue token carries its resourceVersion). A token
 * outlives its snapshot only until etcd compacts it (410 Gone, minutes): the list then starts
 * over once, and after a second expiry is taken whole.
 */
export async function listInPages<T extends KubernetesObject>(
  kube: Kube,
  path: string,
  query: { fieldSelector?: string | undefined; labelSelector?: string | undefined },
  pageSize = LIST_PAGE_SIZE,
): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
  let items: T[] = [];
  let token: string | undefined;
  let expired = 0;
  for (;;) {
    let page: ListPage<T>;
    try {
      page = await kube.wire.request<ListPage<T>>(HttpMethod.GET, path, {
        query: { ...query, limit: expired > 1 ? undefined : String(pageSize), continue: token },
      });
    } catch (error) {
      if (token === undefined || statusCode(error) !== 410) throw error;
      expired += 1;
      items = [];
      token = undefined;
      continue;
    }
    for (const item of page.items ?? []) items.push(slimForCache(item));
    token = page.metadata?.continue || undefined;
    if (token === undefined) {
      const resourceVersion = page.metadata?.resourceVersion;
      return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
    }
  }
}

/**
 * A cached list+watch of one resource (cluster-wide or in one namespace), built on the
 * library's ListWatch with plain-JSON lists. The library already reconnects after a
 * timeout (30 s without data counts as a stalled watch) and relists on 410 Gone; on any
 * other error it stops, so this wrapper restarts it with backoff. `synced` turns true after
 * the first list. Lists go in pages (listInPages), and every object is slimmed
 * (src/kube/slim.ts) before it is cached.
 */
export class Informer<T extends KubernetesObject> {
  private listWatch: ListWatch<T> | undefined;
  private stopped = false;
  private restartDelayMs = 500;
  private firstSync: Promise<void>;
  private resolveFirstSync: () => void = () => undefined;
  synced = false;
  /** Why the first list has not succeeded yet, when it failed. */
  lastError: string | undefined;
  private readonly kube: Kube;
  private readonly path: string;
  private readonly log: Logger;
  private readonly onEvent: (event: InformerEvent, object: T) => void;
  private readonly fieldSelector: string | undefined;
  private readonly labelSelector: string | undefined;
  private readonly pageSize: number;

  constructor(
    kube: Kube,
    path: string,
    log: Logger,
    onEvent: (event: InformerEvent, object: T) => void,
    options: { fieldSelector?: string; labelSelector?: string; pageSize?: number } = {},
  ) {
    this.kube = kube;
    this.path = path;
    this.log = log;
    this.onEvent = onEvent;
    this.fieldSelector = options.fieldSelector;
    // An object relabelled out of the selector arrives as a delete (the apiserver's watch does that).
    this.labelSelector = options.labelSelector;
    this.pageSize = options.pageSize ?? LIST_PAGE_SIZE;
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  /** Starts watching; resolves after the first complete list. */
  async start(): Promise<void> {
    this.run();
    await this.firstSync;
  }

  private run(): void {
    if (this.stopped) return;
    const listFn = () =>
      oneListAtATime.execute(() =>
        listInPages<T>(
          this.kube,
          this.path,
          { fieldSelector: this.fieldSelector, labelSelector: this.labelSelector },
          this.pageSize,
        ),
      ) as never;
    const listWatch = new ListWatch<T>(
      this.path,
      new SlimmingWatch(this.kube.kc),
      listFn,
      false,
      this.labelSelector,
      this.fieldSelector,
    );
    listWatch.on('add', (object) => this.onEvent('add', object));
    listWatch.on('update', (object) => this.onEvent('update', object));
    listWatch.on('delete', (object) => this.onEvent('delete', object));
    listWatch.on('connect', () => {
      this.restartDelayMs = 500;
    });
    listWatch.on('error', (error: unknown) => {
      if (this.stopped) return;
      this.log.warn(
        { err: error, path: this.path, retryInMs: this.restartDelayMs },
        'watch failed; restarting',
      );
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
      setTimeout(() => {
        if (!this.stopped) listWatch.start().catch(() => undefined);
      }, delay).unref();
    });
    this.listWatch = listWatch;
    const begin = () =>
      listWatch.start().then(
        () => {
          this.synced = true;
          this.resolveFirstSync();
        },
        (error: unknown) => {
          this.lastError = apiErrorMessage(error);
          this.log.warn({ err: error, path: this.path }, 'initial list failed; retrying');
          setTimeout(begin, Math.min((this.restartDelayMs *= 2), 30_000)).unref();
        },
      );
    void begin();
  }

  /** The collection this informer lists and watches. */
  get resource(): string {
    return this.path;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.listWatch?.get(name, namespace);
  }

  /** Whether this informer holds the objects of `namespace` (a cluster-wide one holds all). */
  covers(namespace: string): boolean {
    const match = /\/namespaces\/([^/]+)\//.exec(this.path);
    return !match || match[1] === namespace;
  }

  list(namespace?: string): readonly T[] {
    return this.listWatch?.list(namespace) ?? [];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.listWatch?.stop();
  }
}

/** A Watch whose objects are slimmed before the ListWatch caches them. */
class SlimmingWatch extends Watch {
  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return super.watch(
      path,
      query,
      (phase, object: unknown, raw) => callback(phase, slimForCache(object), raw),
      done,
    );
  }
}

/** The collection path of a resource, cluster-wide or in one namespace. */
export function collectionPath(group: string, version: string, plural: string, namespace?: string): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}
