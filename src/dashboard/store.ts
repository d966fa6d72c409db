import { collectionPath, Informer, type InformerEvent } from '../controller/informers.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { CanarySummary, StreamMessage, TimelineEntry } from './api.ts';
import { History } from './history.ts';
import { eventEntry, summarize, type WatchedCanary, type WatchedEvent } from './model.ts';

/** Events about Canaries only; the apiserver filters, so other Events never arrive. */
const CANARY_EVENTS = 'involvedObject.kind=Canary';

export interface StoreDeps {
  kube: Kube;
  log: Logger;
  /** Watch these namespaces (default: all). */
  namespaces?: string[] | undefined;
  now?: () => number;
}

/** An object as a list or watch of its kind carries it. */
type Listed<T> = T & { apiVersion?: string; kind?: string };

/**
 * Everything the dashboard shows, fed by watches (Canaries and their Events), never by
 * polling: the informers' caches, the history seen since start, and the subscribers of
 * the live stream.
 */
export class DashboardStore {
  readonly #deps: StoreDeps;
  readonly #canaries: Informer<Listed<WatchedCanary>>[];
  readonly #events: Informer<Listed<WatchedEvent>>[];
  readonly #summaries = new Map<string, string>();
  readonly #listeners = new Set<(message: StreamMessage) => void>();
  readonly history: History;

  constructor(deps: StoreDeps) {
    this.#deps = deps;
    const now = deps.now ?? Date.now;
    this.history = new History(now());
    const scopes = deps.namespaces?.length ? deps.namespaces : [undefined];
    /** One informer of `group/version/plural` per watched namespace (or one for all). */
    const inEachScope = <T extends KubernetesObject>(
      [group, version, plural]: [string, string, string],
      onEvent: (event: InformerEvent, object: T) => void,
      options?: { fieldSelector: string },
    ) =>
      scopes.map(
        (ns) =>
          new Informer<T>(deps.kube, collectionPath(group, version, plural, ns), deps.log, onEvent, options),
      );
    this.#canaries = inEachScope<Listed<WatchedCanary>>(['sluice.dev', 'v1alpha1', 'canaries'], (e, o) =>
      this.#onCanary(e, o),
    );
    this.#events = inEachScope<Listed<WatchedEvent>>(['', 'v1', 'events'], (_e, o) => this.#onEvent(o), {
      fieldSelector: CANARY_EVENTS,
    });
  }

  /**
   * Resolves once the canaries are listed. Events follow when their watch syncs: without
   * the right to list Events the timeline stays short (the informer logs why), the rest works.
   */
  async start(): Promise<void> {
    for (const informer of this.#events) void informer.start();
    await Promise.all(this.#canaries.map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    await Promise.all([...this.#canaries, ...this.#events].map((informer) => informer.stop()));
  }

  get synced(): boolean {
    return [...this.#canaries, ...this.#events].every((informer) => informer.synced);
  }

  /** Whether this store watches `namespace`. */
  covers(namespace: string): boolean {
    return !this.#deps.namespaces?.length || this.#deps.namespaces.includes(namespace);
  }

  subscribe(listener: (message: StreamMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  canaries(): WatchedCanary[] {
    return this.#canaries.flatMap((informer) => [...informer.list()]);
  }

  summaries(): CanarySummary[] {
    return this.canaries().map(summarize);
  }

  canary(namespace: string, name: string): WatchedCanary | undefined {
    if (!this.covers(namespace)) return undefined;
    for (const informer of this.#canaries) {
      const found = informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  /** The canary's Events and what this server observed, oldest first. */
  events(namespace: string, name: string): TimelineEntry[] {
    return this.#events
      .flatMap((informer) => [...informer.list(namespace)])
      .filter((e) => e.involvedObject?.name === name)
      .map(eventEntry);
  }

  #emit(message: StreamMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        this.#deps.log.warn({ err: error }, 'dashboard stream listener failed');
      }
    }
  }

  #onCanary(event: InformerEvent, canary: WatchedCanary): void {
    const key = `${canary.metadata.namespace}/${canary.metadata.name}`;
    if (event === 'delete') {
      this.#summaries.delete(key);
      this.history.forget(key);
      this.#emit({ type: 'removed', key });
      return;
    }
    this.history.observe(key, canary.status, (this.#deps.now ?? Date.now)());
    const summary = summarize(canary);
    const json = JSON.stringify(summary);
    if (this.#summaries.get(key) !== json) {
      this.#summaries.set(key, json);
      this.#emit({ type: 'canary', summary });
    }
    this.#emit({ type: 'changed', key });
  }

  #onEvent(event: WatchedEvent): void {
    const involved = event.involvedObject;
    if (!involved?.name) return;
    this.#emit({
      type: 'changed',
      key: `${involved.namespace ?? event.metadata.namespace}/${involved.name}`,
    });
  }
}
