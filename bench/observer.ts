import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, collectionPath } from '../src/controller/informers.ts';
import type { Kube } from '../src/kube/client.ts';
import { silentLogger } from '../src/log.ts';
import { CANARY_API, virtualServiceCanaryWeight, type ControllerKind } from './fixtures.ts';
import { record, stateOf, type CanaryState, type Timeline } from './timeline.ts';

// Watches of a benchmark namespace: every Canary's status changes and every VirtualService's
// canary weight, stamped with the time the watch delivered them.

/** A watch of one collection keeping a series of values per object name, in the order the watch delivered them. */
class SeriesObserver<T> {
  protected readonly series = new Map<string, T[]>();
  private readonly informer: Informer<KubernetesObject>;

  constructor(kube: Kube, path: string, seen: (object: KubernetesObject, name: string, series: T[]) => void) {
    this.informer = new Informer<KubernetesObject>(kube, path, silentLogger, (event, object) => {
      if (event === 'delete') return;
      const name = object.metadata?.name ?? '';
      let series = this.series.get(name);
      if (!series) this.series.set(name, (series = []));
      seen(object, name, series);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

export class CanaryObserver extends SeriesObserver<CanaryState> {
  readonly timelines: ReadonlyMap<string, Timeline> = this.series;

  constructor(kube: Kube, kind: ControllerKind, namespace: string) {
    const { group, version } = CANARY_API[kind];
    super(kube, collectionPath(group, version, 'canaries', namespace), (object, _name, timeline) =>
      record(timeline, stateOf(object, Date.now())),
    );
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
export class RouteObserver extends SeriesObserver<{ at: number; weight: number }> {
  constructor(kube: Kube, namespace: string) {
    super(
      kube,
      collectionPath('networking.istio.io', 'v1', 'virtualservices', namespace),
      (object, name, series) => {
        const weight = virtualServiceCanaryWeight(object, name);
        if (weight !== undefined && series.at(-1)?.weight !== weight) series.push({ at: Date.now(), weight });
      },
    );
  }

  weight(name: string): number | undefined {
    return this.series.get(name)?.at(-1)?.weight;
  }

  /** The first time at or after `since` the VirtualService `name` had this canary weight. */
  firstAt(name: string, weight: number, since: number): number | undefined {
    return this.series.get(name)?.find((w) => w.at >= since && w.weight === weight)?.at;
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
