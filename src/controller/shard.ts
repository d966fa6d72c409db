// Sharding the Kubernetes way, as Flux does: each controller Deployment watches the Canaries
// whose `sluice.dev/shard` label names its shard, and the replica started without --shard
// watches those without the label. Each shard elects its leader on a Lease of its own.
// docs/decisions/0027-sharding.md says why.

/** The label that assigns a Canary to a shard. */
export const SHARD_LABEL = 'sluice.dev/shard';

/**
 * A shard name: a DNS label, since it ends up in the Lease's name and, through the chart, in
 * Deployment and Service names. 40 characters leave room for the prefixes.
 */
const SHARD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_SHARD_LENGTH = 40;

/** Why `name` is not a shard name, or undefined when it is one. */
export function shardNameProblem(name: string): string | undefined {
  if (name === '')
    return 'expected a shard name; leave --shard out to run the replica for Canaries without the sluice.dev/shard label';
  if (name.length > MAX_SHARD_LENGTH) return `expected at most ${MAX_SHARD_LENGTH} characters`;
  if (!SHARD_NAME.test(name))
    return "expected lowercase letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

/** The label selector of a shard's Canary informer: its own label, or (no shard) no label at all. */
export function shardSelector(shard: string | undefined): string {
  return shard === undefined ? `!${SHARD_LABEL}` : `${SHARD_LABEL}=${shard}`;
}

/** Whether a Canary with these labels belongs to `shard` (undefined: the unlabelled ones). */
export function ownsCanary(shard: string | undefined, labels: Record<string, string> | undefined): boolean {
  const label = labels?.[SHARD_LABEL];
  return shard === undefined ? label === undefined : label === shard;
}

/** A shard's own leader Lease: `<id>-<shard>`, so shards never contend for one Lease. */
export function shardLeaseName(leaderElectionId: string, shard: string | undefined): string {
  return shard === undefined ? leaderElectionId : `${leaderElectionId}-${shard}`;
}
