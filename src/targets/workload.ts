import type { z } from 'zod';
import type { Canary } from '../api/canary.ts';
import { readRelease } from '../api/release.ts';
import { silentLogger } from '../log.ts';
import { checksums, readTrackedConfigs, syncPrimaryConfigs } from './config-tracker.ts';
import { primaryHpaName, reconcilePrimaryHpa } from './hpa.ts';
import {
  Pod,
  parseWire,
  type Container,
  type DaemonSet,
  type Deployment,
  type OwnerReference,
} from '../kube/kinds.ts';
import {
  canaryNamespace,
  canaryRef,
  ownerReference,
  primaryName,
  primaryValue,
  selectorLabel,
  type SelectorLabel,
} from '../kube/meta.ts';
import { applyIfChanged, deleteObject, getObject, type DesiredObject } from '../kube/objects.ts';
import { labelSelectorString, type PrimaryInput } from './primary.ts';
import type { ReadinessOptions, ReadinessReport } from './readiness.ts';
import { revisionOf, type Revision } from './revision.ts';
import type {
  BootstrapResult,
  PromoteResult,
  ScaleResult,
  Target,
  TargetDeps,
  TargetPods,
  TargetReadiness,
} from './target.ts';

// What Deployment and DaemonSet targets share: reading the target, promotion with config
// copies and the primary HPA, readiness with the pods, and revertOnDeletion. The kind
// files (deployment.ts, daemonset.ts) add the primary's shape, readiness and scaling.

export type WorkloadObject = Deployment | DaemonSet;

/** The parts of a target that differ by kind. */
export interface WorkloadKind<W extends WorkloadObject> {
  kind: W['kind'];
  schema: z.ZodType<W>;
  /** The primary as Sluice wants it; `live` is the primary as it is, if it exists. */
  primary(target: W, input: PrimaryInput, live: W | undefined, canary: Canary): DesiredObject;
  readiness(workload: W, pods: readonly z.output<typeof Pod>[], options: ReadinessOptions): ReadinessReport;
  /** The pods of the workload's current template, out of all the pods its selector matches. */
  currentPods(deps: TargetDeps, workload: W, pods: z.output<typeof Pod>[]): Promise<z.output<typeof Pod>[]>;
  /**
   * Whether readiness can depend on the pods at all; when not (scaled to zero, a generation
   * not yet observed), the pod list is not read. Absent: always read.
   */
  podsMatter?(workload: W): boolean;
  /** Scales the target; `primary` is the live primary, when there is one. */
  scale(
    context: WorkloadContext<W>,
    target: W,
    to: 'up' | 'zero' | 'restore',
    primary: W | undefined,
  ): Promise<ScaleResult>;
}

export interface WorkloadContext<W extends WorkloadObject> {
  deps: TargetDeps;
  canary: Canary;
  namespace: string;
  /** `Deployment apps/podinfo` */
  describe(name: string): string;
  kind: WorkloadKind<W>;
}

/** Sidecars whose ports are never exposed by port discovery (as in Flagger). */
const SIDECARS = new Set(['istio-proxy', 'envoy']);

/** Container ports for service.portDiscovery, without the service port itself. */
export function discoveredPorts(canary: Canary, containers: readonly Container[]): Record<string, number> {
  const service = canary.spec.service;
  const ports: Record<string, number> = {};
  for (const container of containers) {
    if (SIDECARS.has(container.name)) continue;
    (container.ports ?? []).forEach((port, i) => {
      const target = service.targetPort ?? service.port;
      if (typeof target === 'number' ? port.containerPort === target : port.name === target) return;
      ports[port.name ?? `tcp-${container.name}-${i}`] = port.containerPort;
    });
  }
  return ports;
}

export function workloadTarget<W extends WorkloadObject>(kind: WorkloadKind<W>, deps: TargetDeps): Target {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? Date.now;

  const contextOf = (canary: Canary): WorkloadContext<W> => {
    const namespace = canaryNamespace(canary);
    return {
      deps,
      canary,
      namespace,
      kind,
      describe: (name) => `${kind.kind} ${namespace}/${name}`,
    };
  };

  const ref = (namespace: string, name: string) => ({
    apiVersion: 'apps/v1',
    kind: kind.kind,
    metadata: { name, namespace },
  });

  async function read(namespace: string, name: string, what: string): Promise<W | undefined> {
    const object = await getObject(deps.kube, ref(namespace, name));
    return object ? parseWire(kind.schema, object, what) : undefined;
  }

  async function readTarget(canary: Canary): Promise<W> {
    const namespace = canaryNamespace(canary);
    const name = canary.spec.targetRef.name;
    const what = `${kind.kind} ${namespace}/${name} (spec.targetRef of Canary ${canaryRef(canary)})`;
    const target = await read(namespace, name, what);
    if (!target) throw new Error(`${what} does not exist`);
    return target;
  }

  const readPrimary = (canary: Canary): Promise<W | undefined> => {
    const namespace = canaryNamespace(canary);
    return read(namespace, primaryName(canary), `${kind.kind} ${namespace}/${primaryName(canary)}`);
  };

  // From the watch cache: readiness comes from the workload's status; the pods only tell a
  // failing one apart, and a pod that fails moves that status, hence another look.
  async function podsOf(namespace: string, selector: Record<string, string>) {
    const items = await deps.kube.wire.listObjects('v1', 'Pod', namespace, labelSelectorString(selector), {
      fromCache: true,
    });
    return items.map((item) => parseWire(Pod, item, `Pod ${namespace}/${item.metadata?.name ?? ''}`));
  }

  async function revisionOfTarget(canary: Canary, target: W) {
    const namespace = canaryNamespace(canary);
    const configs = await readTrackedConfigs(
      deps.kube,
      namespace,
      target.spec.template.spec,
      contextOf(canary).describe(target.metadata.name),
    );
    const release = readRelease(
      target.spec.template.metadata?.annotations,
      target.metadata.annotations,
      `${kind.kind} ${namespace}/${target.metadata.name}`,
    );
    return { configs, revision: { ...revisionOf(target.spec.template, checksums(configs)), release } };
  }

  const selectorOf = (target: W, canary: Canary): SelectorLabel =>
    selectorLabel(contextOf(canary).describe(target.metadata.name), target.spec.selector);

  async function promote(canary: Canary, options: { revision?: string } = {}): Promise<PromoteResult> {
    const namespace = canaryNamespace(canary);
    const target = await readTarget(canary);
    const { configs, revision } = await revisionOfTarget(canary, target);
    if (options.revision !== undefined && options.revision !== revision.revision) {
      return {
        applied: false,
        revision,
        writes: 0,
        message: `${kind.kind} ${namespace}/${target.metadata.name} is at revision ${revision.revision}, not ${options.revision}: not promoted`,
      };
    }
    const input: PrimaryInput = {
      canary,
      selector: selectorOf(target, canary),
      trackedConfigs: new Set(configs.map((config) => config.key)),
      revision: revision.revision,
    };
    let writes = 0;
    let live = await readPrimary(canary);
    // The copies exist before the primary points at them, so its pods never wait for one;
    // on the first promotion they get their owner (the primary) right after it exists.
    const owner: OwnerReference | undefined = live ? ownerReference(live) : undefined;
    writes += await syncPrimaryConfigs(deps.kube, namespace, canary, configs, owner);
    const applied = await applyIfChanged(deps.kube, kind.primary(target, input, live, canary), live);
    if (applied.written) writes += 1;
    live = parseWire(kind.schema, applied.object, `${kind.kind} ${namespace}/${primaryName(canary)}`);
    const primaryOwner = ownerReference(live);
    if (!owner) writes += await syncPrimaryConfigs(deps.kube, namespace, canary, configs, primaryOwner);
    if (canary.spec.autoscalerRef && kind.kind === 'Deployment') {
      if ((await reconcilePrimaryHpa(deps.kube, canary, primaryOwner)).written) writes += 1;
    }
    const message = writes
      ? `${kind.kind} ${namespace}/${primaryName(canary)} now runs revision ${revision.revision}`
      : `${kind.kind} ${namespace}/${primaryName(canary)} already runs revision ${revision.revision}`;
    logger.debug({ revision: revision.revision, writes }, 'primary promoted');
    return { applied: true, revision, writes, message };
  }

  function readinessOptions(canary: Canary, which: 'primary' | 'canary'): ReadinessOptions {
    const analysis = canary.spec.analysis;
    return {
      threshold: which === 'primary' ? analysis.primaryReadyThreshold : analysis.canaryReadyThreshold,
      progressDeadlineSeconds: canary.spec.progressDeadlineSeconds,
      now: now(),
    };
  }

  async function primaryReadiness(
    canary: Canary,
    target: W,
    primary: W | undefined,
  ): Promise<ReadinessReport> {
    const namespace = canaryNamespace(canary);
    if (!primary)
      return {
        state: 'notReady',
        message: `${kind.kind} ${namespace}/${primaryName(canary)} does not exist yet`,
      };
    const selector = selectorOf(target, canary);
    return readinessOf(primary, readinessOptions(canary, 'primary'), () =>
      podsOf(namespace, { [selector.label]: primaryValue(selector) }),
    );
  }

  async function targetReadiness(
    canary: Canary,
    target: W,
    which: 'primary' | 'canary',
  ): Promise<ReadinessReport> {
    return readinessOf(target, readinessOptions(canary, which), () =>
      podsOf(canaryNamespace(canary), target.spec.selector.matchLabels ?? {}),
    );
  }

  /** Readiness from the status and, where they can matter, the pods (listed unless a recent check stands). */
  async function readinessOf(
    workload: W,
    options: ReadinessOptions,
    listPods: () => Promise<z.output<typeof Pod>[]>,
  ): Promise<ReadinessReport> {
    if (kind.podsMatter?.(workload) === false || deps.podReads === 'never')
      return kind.readiness(workload, [], options);
    const key = {
      kind: kind.kind,
      namespace: workload.metadata.namespace ?? '',
      name: workload.metadata.name,
      uid: workload.metadata.uid,
      resourceVersion: workload.metadata.resourceVersion,
    };
    const checks = deps.podChecks;
    if (deps.podReads === 'unlessReady' || checks?.fresh(key, options.now)) {
      const report = kind.readiness(workload, [], options);
      if (report.state === 'ready') return report;
    }
    const report = kind.readiness(
      workload,
      await kind.currentPods(deps, workload, await listPods()),
      options,
    );
    checks?.record(key, report.state === 'ready', options.now);
    return report;
  }

  return {
    kind: kind.kind,

    async pods(canary: Canary): Promise<TargetPods> {
      const target = await readTarget(canary);
      return {
        selector: selectorOf(target, canary),
        ports: canary.spec.service.portDiscovery
          ? discoveredPorts(canary, target.spec.template.spec.containers)
          : {},
      };
    },

    async revision(canary: Canary): Promise<Revision> {
      return (await revisionOfTarget(canary, await readTarget(canary))).revision;
    },

    promote,

    async bootstrap(canary: Canary): Promise<BootstrapResult> {
      const promoted = await promote(canary);
      const target = await readTarget(canary);
      const primary = await readPrimary(canary);
      const report = await primaryReadiness(canary, target, primary);
      if (report.state !== 'ready') return { done: false, primary: report, writes: promoted.writes };
      const scale = await kind.scale(contextOf(canary), target, 'zero', primary);
      return { done: true, primary: report, scale, writes: promoted.writes + (scale.written ? 1 : 0) };
    },

    async scaleCanary(canary: Canary, to: 'up' | 'zero'): Promise<ScaleResult> {
      const target = await readTarget(canary);
      const primary = to === 'up' ? await readPrimary(canary) : undefined;
      return kind.scale(contextOf(canary), target, to, primary);
    },

    async readiness(canary: Canary): Promise<TargetReadiness> {
      const target = await readTarget(canary);
      const primary = await readPrimary(canary);
      return {
        canary: await targetReadiness(canary, target, 'canary'),
        primary: await primaryReadiness(canary, target, primary),
      };
    },

    async restore(canary: Canary): Promise<ReadinessReport> {
      const target = await readTarget(canary);
      const primary = await readPrimary(canary);
      const scaled = await kind.scale(contextOf(canary), target, 'restore', primary);
      if (scaled.written) {
        return {
          state: 'notReady',
          message: `${kind.kind} ${canaryNamespace(canary)}/${target.metadata.name} scaled back up`,
        };
      }
      return targetReadiness(canary, target, 'primary');
    },

    async removePrimary(canary: Canary): Promise<{ deleted: string[] }> {
      const namespace = canaryNamespace(canary);
      const deleted: string[] = [];
      if (canary.spec.autoscalerRef) {
        const hpa = {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: primaryHpaName(canary), namespace },
        };
        if (await deleteObject(deps.kube, hpa))
          deleted.push(`HorizontalPodAutoscaler ${namespace}/${hpa.metadata.name}`);
      }
      // The -primary configs are owned by the primary: the garbage collector deletes them with it.
      if (await deleteObject(deps.kube, ref(namespace, primaryName(canary)))) {
        deleted.push(`${kind.kind} ${namespace}/${primaryName(canary)}`);
      }
      return { deleted };
    },
  };
}
