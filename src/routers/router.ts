import type { Canary } from '../api/canary.ts';
import type { Routes } from '../api/routes.ts';
import type { Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { EventSink, TargetPods } from '../targets/target.ts';

// A router moves traffic between the primary and the canary through one provider's
// objects (Istio VirtualService, Gateway API HTTPRoute, SMI TrafficSplit, NGINX canary
// Ingress, or the apex Service's selector). One interface, one file per provider, as in
// Flagger's pkg/router. Every write is a server-side apply by field manager `sluice`;
// getRoutes reads what the apiserver really holds, so a hand edit shows up as drift and
// the next setRoutes corrects it.

// Routes, PRIMARY_ONLY and sameRoutes are the machine's too: defined once in api/routes.ts.
export { PRIMARY_ONLY, sameRoutes, type Routes } from '../api/routes.ts';

export interface SetRoutesOptions extends Routes {
  /** Percent of requests mirrored; defaults to spec.analysis.mirrorWeight, else all. */
  mirrorWeight?: number;
}

/** What a provider can express; setRoutes refuses the rest with a RoutingNotSupportedError. */
export interface RouterCapabilities {
  /** Any split of 100 (false: all traffic on one side, as the Service selector switch does). */
  weights: boolean;
  mirror: boolean;
  match: boolean;
}

export interface RouterDeps {
  kube: Pick<Kube, 'wire'>;
  logger?: Logger;
  /** Warnings a person must act on (a GitOps tool owning the apex Service's selector) go here. */
  events?: EventSink;
  /** The target's selector label and ports (from src/targets); read once per call. */
  targetPods(canary: Canary): Promise<TargetPods>;
}

export interface Router {
  /** The provider string as normalised by the factory, e.g. `istio`, `smi:v1alpha2`. */
  readonly provider: string;
  readonly capabilities: RouterCapabilities;
  /**
   * Creates or updates the Services and the provider's objects for the current spec,
   * keeping the weights they have (primary 100 % on creation). A write only for what changed.
   */
  reconcile(canary: Canary): Promise<void>;
  /** Sets the weights (one read and at most one write per routing object). */
  setRoutes(canary: Canary, routes: SetRoutesOptions): Promise<void>;
  /**
   * The routes as the apiserver holds them now. Throws RoutesNotFoundError when the
   * object or Sluice's route in it is gone (drift: setRoutes puts it back).
   */
  getRoutes(canary: Canary): Promise<Routes>;
  /**
   * revertOnDeletion: traffic back to the target through the apex Service; objects Sluice
   * created are deleted, objects it adopted get their original spec back.
   */
  finalize(canary: Canary): Promise<void>;
}

/** The provider cannot express these routes; names the Canary, the provider and what was asked. */
export class RoutingNotSupportedError extends Error {
  readonly canary: string;
  readonly provider: string;
  constructor(canary: string, provider: string, what: string) {
    super(`Canary ${canary}: provider ${provider} cannot ${what}`);
    this.name = 'RoutingNotSupportedError';
    this.canary = canary;
    this.provider = provider;
  }
}

/** A Canary field the provider needs is missing or wrong; names the Canary and the field. */
export class RouterConfigError extends Error {
  readonly canary: string;
  readonly field: string;
  constructor(canary: string, field: string, message: string) {
    super(`Canary ${canary}: ${field} ${message}`);
    this.name = 'RouterConfigError';
    this.canary = canary;
    this.field = field;
  }
}

/** The routing object, or Sluice's route in it, is gone: drift that setRoutes repairs. */
export class RoutesNotFoundError extends Error {
  readonly canary: string;
  readonly object: string;
  constructor(canary: string, object: string, exists: boolean) {
    super(
      `Canary ${canary}: ${object} ${exists ? 'holds no route to the primary and canary Services' : 'does not exist'}`,
    );
    this.name = 'RoutesNotFoundError';
    this.canary = canary;
    this.object = object;
  }
}

/** Checks the routes against the provider's capabilities and the Canary; throws what a person can act on. */
export function checkRoutes(
  canary: Canary,
  provider: string,
  capabilities: RouterCapabilities,
  routes: SetRoutesOptions,
): void {
  const ref = `${canary.metadata.namespace ?? ''}/${canary.metadata.name}`;
  const { primaryWeight, canaryWeight } = routes;
  for (const [name, weight] of [
    ['primaryWeight', primaryWeight],
    ['canaryWeight', canaryWeight],
  ] as const) {
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw new RouterConfigError(ref, name, `must be an integer from 0 to 100 (got ${weight})`);
    }
  }
  if (primaryWeight + canaryWeight !== 100) {
    throw new RouterConfigError(
      ref,
      'routes',
      `weights must add up to 100 (got ${primaryWeight} + ${canaryWeight})`,
    );
  }
  if (!capabilities.weights && primaryWeight !== 100 && canaryWeight !== 100) {
    throw new RoutingNotSupportedError(
      ref,
      provider,
      `split traffic ${primaryWeight}/${canaryWeight}: it sends all traffic to the primary or all to the canary`,
    );
  }
  if (routes.mirror && !capabilities.mirror)
    throw new RoutingNotSupportedError(ref, provider, 'mirror traffic');
  if (routes.match && !capabilities.match)
    throw new RoutingNotSupportedError(ref, provider, 'route by request match (A/B testing)');
  if (routes.match && !canary.spec.analysis.match?.length) {
    throw new RouterConfigError(
      ref,
      'spec.analysis.match',
      'is empty, so there is nothing to route by (A/B testing needs it)',
    );
  }
  if (routes.mirrorWeight !== undefined && (routes.mirrorWeight < 0 || routes.mirrorWeight > 100)) {
    throw new RouterConfigError(ref, 'mirrorWeight', `must be from 0 to 100 (got ${routes.mirrorWeight})`);
  }
}
