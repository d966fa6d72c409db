import { EventEmitter } from 'node:events';

/** One demo-app process the runtime runs for a pod. */
export interface PodProcess {
  namespace: string;
  pod: string;
  uid: string;
  /** The Deployment (or other controller) owning the pod: Istio's `destination_workload`. */
  workload: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** `starting` until /readyz answers 200; `failed` while waiting to retry. */
  state: 'starting' | 'ready' | 'failed';
  pid?: number;
  port?: number;
  /** `http://127.0.0.1:<port>` once the process listens. */
  url?: string;
  version?: string;
  restarts: number;
  /** Why the process is not running (missing ConfigMap, exit code, …). */
  error?: string;
  startedAt: string;
}

const key = (namespace: string, pod: string) => `${namespace}/${pod}`;

/**
 * Pod → local process, shared in-process by the runtime (which writes it) and the traffic
 * layer (which reads it for every request). Emits `change` after every update.
 */
export class ProcessRegistry extends EventEmitter<{ change: [] }> {
  readonly #entries = new Map<string, PodProcess>();

  set(entry: PodProcess): void {
    this.#entries.set(key(entry.namespace, entry.pod), { ...entry });
    this.emit('change');
  }

  delete(namespace: string, pod: string): void {
    if (this.#entries.delete(key(namespace, pod))) this.emit('change');
  }

  get(namespace: string, pod: string): PodProcess | undefined {
    return this.#entries.get(key(namespace, pod));
  }

  /** The process of a pod if it is ready to take requests. */
  ready(namespace: string, pod: string): (PodProcess & { url: string; port: number }) | undefined {
    const entry = this.get(namespace, pod);
    return entry?.state === 'ready' && entry.url && entry.port
      ? { ...entry, url: entry.url, port: entry.port }
      : undefined;
  }

  list(namespace?: string): PodProcess[] {
    return [...this.#entries.values()]
      .filter((entry) => namespace === undefined || entry.namespace === namespace)
      .sort((a, b) => key(a.namespace, a.pod).localeCompare(key(b.namespace, b.pod)));
  }

  /** Ready processes of one workload (Deployment) in a namespace. */
  readyOf(namespace: string, workload: string): (PodProcess & { url: string })[] {
    return this.list(namespace).filter(
      (entry): entry is PodProcess & { url: string } =>
        entry.workload === workload && entry.state === 'ready' && entry.url !== undefined,
    );
  }
}
