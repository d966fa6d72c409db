import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, collectionPath } from '../src/controller/informers.ts';
import type { Kube } from '../src/kube/client.ts';
import { silentLogger } from '../src/log.ts';
import { CANARY_API, virtualServiceCanaryWeight, type ControllerKind } from './fixtures.ts';
import { record, stateOf, type Timeline } from './timeline.ts';

// Watches of a benchmark namespace: every Canary's status changes and every VirtualService's
// canary weight, stamped with the time the watch delivered them.

export class CanaryObserver {
  readonly timelines = new Map<string, Timeline>();
  private readonly informer: Informer<KubernetesObject>;

  constructor(kube: Kube, kind: ControllerKind, namespace: string) {
    const { group, version } = CANARY_API[kind];
    this.informer = new Informer<KubernetesObject>(
      kube,
      collectionPath(group, version, 'canaries', namespace),
      silentLogger,
      (event, object) => {
        if (event === 'delete') return;
        const name = object.metadata?.name ?? '';
        let timeline = this.timelines.get(name);
        if (!timeline) this.timelines.set(name, (timeline = []));
        record(timeline, stateOf(object, Date.now()));
      },
    );
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  phase(name: string): string | undefined {
    return this.timelines.get(name)?.at(-1)?.phase;
  }

  /** How many of `names` are in one of `phases` now. */
  count(names: readonly string[], phases: ReadonlySet<string>): number {
    let n = 0;
    for (const name of names) if (phases.has(this.phase(name) ?? '')) n += 1;
    return n;
  }
}

/** Canary weight of every VirtualService in a namespace, with the time each value was seen. */
export class RouteObserver {
  readonly weights = new Map<string, { at: number; weight: number }[]>();
  private readonly informer: Informer<KubernetesObject>;

  constructor(kube: Kube, namespace: string) {
    this.informer = new Informer<KubernetesObject>(
      kube,
      collectionPath('networking.istio.io', 'v1', 'virtualservices', namespace),
      silentLogger,
      (event, object) => {
        if (event === 'delete') return;
        const name = object.metadata?.name ?? '';
        const weight = virtualServiceCanaryWeight(object, name);
        if (weight === undefined) return;
        let series = this.weights.get(name);
        if (!series) this.weights.set(name, (series = []));
        if (series.at(-1)?.weight !== weight) series.push({ at: Date.now(), weight });
      },
    );
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  weight(name: string): number | undefined {
    return this.weights.get(name)?.at(-1)?.weight;
  }

  /** The first time at or after `since` the VirtualService `name` had this canary weight. */
  firstAt(name: string, weight: number, since: number): number | undefined {
    return this.weights.get(name)?.find((w) => w.at >= since && w.weight === weight)?.at;
  }
}

/** Polls `check` every `everyMs` until it returns true or the timeout passes (then false). */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  options: { everyMs?: number; onPoll?: () => void } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    options.onPoll?.();
    await new Promise((r) => setTimeout(r, options.everyMs ?? 250));
  }
}
