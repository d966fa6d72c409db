import type { Canary } from '../api/canary.ts';
import { canaryRef } from '../kube/meta.ts';
import { gatewayApiRouter } from './gatewayapi.ts';
import { istioRouter } from './istio.ts';
import { kubernetesRouter } from './kubernetes.ts';
import { nginxRouter } from './nginx.ts';
import type { Router, RouterDeps } from './router.ts';
import { SMI_VERSIONS, smiRouter, type SmiVersion } from './smi.ts';

// Picks the router for spec.provider, with Flagger's provider strings.

/** Flagger's default mesh provider, used when spec.provider is not set. */
export const DEFAULT_PROVIDER = 'istio';

export type ProviderKind =
  | { kind: 'istio' }
  | { kind: 'gatewayapi' }
  | { kind: 'smi'; version: SmiVersion }
  | { kind: 'nginx' }
  | { kind: 'kubernetes' };

/** spec.provider names a provider Sluice does not route; names the Canary and the field. */
export class UnsupportedProviderError extends Error {
  readonly canary: string;
  readonly field = 'spec.provider';
  readonly provider: string;
  constructor(canary: string, provider: string) {
    super(
      `Canary ${canary}: spec.provider "${provider}" is not supported; expected one of istio, gatewayapi, ` +
        `gatewayapi:v1, smi, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, linkerd, osm, nginx, kubernetes`,
    );
    this.name = 'UnsupportedProviderError';
    this.canary = canary;
    this.provider = provider;
  }
}

/**
 * Parses a provider string. `smi:<version>` may carry a mesh suffix (`smi:v1alpha3:osm`,
 * as Flagger accepts); plain `smi`, `linkerd` and `osm` mean v1alpha2, the version Linkerd
 * and OSM serve. Undefined for a string Sluice does not know.
 */
export function parseProvider(provider: string): ProviderKind | undefined {
  const value = provider.trim();
  if (value === 'istio') return { kind: 'istio' };
  if (value === 'gatewayapi' || value === 'gatewayapi:v1') return { kind: 'gatewayapi' };
  if (value === 'nginx') return { kind: 'nginx' };
  if (value === 'kubernetes') return { kind: 'kubernetes' };
  if (value === 'smi' || value === 'linkerd' || value === 'osm') return { kind: 'smi', version: 'v1alpha2' };
  const smi = /^smi:(v1alpha[123])(?::[a-z0-9-]+)?$/.exec(value);
  if (smi && (SMI_VERSIONS as readonly string[]).includes(smi[1]!))
    return { kind: 'smi', version: smi[1] as SmiVersion };
  return undefined;
}

export interface RouterFactoryOptions {
  /** The provider for a Canary without spec.provider (the controller's flag; Flagger: istio). */
  defaultProvider?: string;
}

/** The router for a Canary's spec.provider. */
export function routerFor(canary: Canary, deps: RouterDeps, options: RouterFactoryOptions = {}): Router {
  const provider = canary.spec.provider ?? options.defaultProvider ?? DEFAULT_PROVIDER;
  const parsed = parseProvider(provider);
  switch (parsed?.kind) {
    case 'istio':
      return istioRouter(deps);
    case 'gatewayapi':
      return gatewayApiRouter(deps);
    case 'smi':
      return smiRouter(deps, parsed.version);
    case 'nginx':
      return nginxRouter(deps);
    case 'kubernetes':
      return kubernetesRouter(deps);
    default:
      throw new UnsupportedProviderError(canaryRef(canary), provider);
  }
}
