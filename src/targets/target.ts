import type { Canary } from '../api/canary.ts';
import type { Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { PodChecks } from './pod-checks.ts';
import type { ReadinessReport } from './readiness.ts';
import type { Revision } from './revision.ts';
import type { SelectorLabel } from '../kube/meta.ts';

// A target is the workload a Canary releases (Deployment or DaemonSet). The state
// machine decides when to promote, scale or check readiness; the controller calls these.
// Every operation is idempotent: repeating one changes nothing and writes nothing more.

/** Where Kubernetes Events go (src/notify's EventRecorder fits). */
export interface EventSink {
  record(
    subject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<unknown>;
}

export interface TargetDeps {
  kube: Pick<Kube, 'wire'>;
  /** Wall clock in ms, for Available=False that outlasts the progress deadline. */
  now?: () => number;
  /** Warnings a person must act on (a GitOps tool owning replicas) go here as Events on the Canary. */
  events?: EventSink;
  /** The canary's logger: the controller binds `canary: <name>.<namespace>`, so lines here add no canary field. */
  logger?: Logger;
  /** Field managers treated as GitOps reconcilers (default: Flux, Argo CD, Fleet, kapp). */
  gitopsManagers?: readonly string[];
  /** Healthy pod checks to reuse while a ready workload's status stands (see pod-checks.ts). */
  podChecks?: PodChecks;
  /**
   * How much the pods are read, besides the workload's status (default `checked`: where they
   * can matter, unless a recent healthy check stands):
   * - `unlessReady`: the canary rests (Initialized, Succeeded, Failed): a status that says
   *   ready is taken at its word; the pods tell a failing workload from a slow one otherwise.
   *   A resync or a cold start over ten thousand resting canaries lists none.
   * - `never`: a bootstrap before its deadline: the status alone says how far the primary
   *   is. At ten thousand bootstrapping canaries a pod list at each look (a scan of every pod
   *   in the namespace) took the apiserver from the controllers that create those pods.
   */
  podReads?: PodReads;
}

/** See TargetDeps.podReads. */
export type PodReads = 'checked' | 'unlessReady' | 'never';

export interface PromoteResult {
  /** False when the target moved on to another revision than the one asked for: nothing was written. */
  applied: boolean;
  /** The target's revision as read. */
  revision: Revision;
  /** Objects written (primary, its HPA, -primary configs); 0 when everything was already in place. */
  writes: number;
  message: string;
}

export interface ScaleResult {
  /** The replicas the target has now (Deployment), or whether it runs anywhere (DaemonSet: 0 or 1). */
  replicas: number;
  written: boolean;
  /** Set when Sluice did not scale because another owner holds the field; also sent as an Event. */
  warning?: string;
}

export interface BootstrapResult {
  /** Primary, Services-side labels and the target scaled to zero: nothing left to do. */
  done: boolean;
  primary: ReadinessReport;
  scale?: ScaleResult;
  writes: number;
}

export interface TargetReadiness {
  canary: ReadinessReport;
  primary: ReadinessReport;
}

/** What routers need from the target: the selector label and the ports its containers expose. */
export interface TargetPods {
  selector: SelectorLabel;
  /** Container ports by name (`tcp-<container>-<i>` when unnamed), for service.portDiscovery. */
  ports: Record<string, number>;
}

export interface Target {
  readonly kind: 'Deployment' | 'DaemonSet' | 'StatefulSet' | 'KnativeService';
  /** The selector label and container ports, read from the target. */
  pods(canary: Canary): Promise<TargetPods>;
  /** The target's current revision: pod template hash plus tracked config checksums. */
  revision(canary: Canary): Promise<Revision>;
  /**
   * Copies the target to the primary (creating it on first call, which is the bootstrap),
   * with the tracked configs copied to -primary and the primary HPA. With `revision`, only
   * when the target still has that revision; otherwise nothing is written.
   */
  promote(canary: Canary, options?: { revision?: string }): Promise<PromoteResult>;
  /**
   * The bootstrap in one idempotent step: primary (via promote), its readiness, and once
   * it is ready the target scaled to zero. Call until `done`.
   */
  bootstrap(canary: Canary): Promise<BootstrapResult>;
  scaleCanary(canary: Canary, to: 'up' | 'zero'): Promise<ScaleResult>;
  readiness(canary: Canary): Promise<TargetReadiness>;
  /** revertOnDeletion, first half: give the target its replicas back; reports its readiness. */
  restore(canary: Canary): Promise<ReadinessReport>;
  /** revertOnDeletion, last half: delete the primary and its HPA (-primary configs follow by owner). */
  removePrimary(canary: Canary): Promise<{ deleted: string[] }>;
  /** A StatefulSet's pods by revision, for the metric templates (`{{ canaryPods }}` …). */
  statefulSetArms?(canary: Canary): Promise<StatefulSetPods>;
}

/** Pod-name regexes and ControllerRevision names of a StatefulSet's two revisions. */
export interface StatefulSetPods {
  canaryPods: string;
  primaryPods: string;
  canaryRevision: string;
  primaryRevision: string;
}
