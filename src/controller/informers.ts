import type { KubernetesObject } from '@kubernetes/client-node';
import { HttpMethod, ListWatch, Watch } from '../kube/library.ts';
import type { Logger } from '../log.ts';
import { apiErrorMessage, type Kube } from '../kube/client.ts';
import { slimForCache } from '../kube/slim.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

/**
 * A cached list+watch of one resource (cluster-wide or in one namespace), built on the
 * library's ListWatch with plain-JSON lists. The library already reconnects after a
 * timeout (30 s without data counts as a stalled watch) and relists on 410 Gone; on any
 * other error it stops, so this wrapper restarts it with backoff. `synced` turns true after
 * the first list. Every object is slimmed (src/kube/slim.ts) before it is cached.
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

  constructor(
    kube: Kube,
    path: string,
    log: Logger,
    onEvent: (event: InformerEvent, object: T) => void,
    options: { fieldSelector?: string; labelSelector?: string } = {},
  ) {
    this.kube = kube;
    this.path = path;
    this.log = log;
    this.onEvent = onEvent;
    this.fieldSelector = options.fieldSelector;
    // An object relabelled out of the selector arrives as a delete (the apiserver's watch does that).
    this.labelSelector = options.labelSelector;
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  /** Starts watching; resolves after the first complete list. */
  async start(): Promise<void> {
    this.run();
    await this.firstSync;
  }

  private run(): void {
    if (this.stopped) return;
    const listFn = async () => {
      const list = await this.kube.wire.request<{ items: T[]; metadata?: { resourceVersion?: string } }>(
        HttpMethod.GET,
        this.path,
        { query: { fieldSelector: this.fieldSelector, labelSelector: this.labelSelector } },
      );
      return { ...list, items: (list.items ?? []).map(slimForCache) } as never;
    };
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
