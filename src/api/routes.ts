import { z } from 'zod';

// Where traffic goes between the primary and the canary: what the machine decides (kept in
// status.machine), what a router sets and what it reads back from the apiserver.

export const Routes = z.object({
  primaryWeight: z.int().min(0).max(100),
  canaryWeight: z.int().min(0).max(100),
  /** Primary traffic is mirrored to the canary (responses come from the primary). */
  mirror: z.boolean(),
  /** A/B: requests matching spec.analysis.match get the weights above; all others go to the primary. */
  match: z.boolean(),
});
export type Routes = z.output<typeof Routes>;

/** All traffic on the primary: where a canary starts and ends. */
export const PRIMARY_ONLY: Readonly<Routes> = {
  primaryWeight: 100,
  canaryWeight: 0,
  mirror: false,
  match: false,
};

/** No request reaches the canary, neither by weight nor by mirror (however it is matched). */
export function isPrimaryOnly(routes: Routes): boolean {
  return routes.canaryWeight === 0 && !routes.mirror && !routes.match;
}

/**
 * Whether two routes send traffic the same way: the same weights and mirror, and the same
 * match unless no request reaches the canary at all (then which requests "match" says nothing).
 */
export function sameRoutes(a: Routes, b: Routes): boolean {
  if (a.primaryWeight !== b.primaryWeight || a.canaryWeight !== b.canaryWeight || a.mirror !== b.mirror)
    return false;
  return a.match === b.match || (a.canaryWeight === 0 && !a.mirror);
}
