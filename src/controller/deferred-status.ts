// A status write that says only "the canary (or primary) is ready now" waits for the next
// write of the canary, which comes within one analysis interval: each rollout has two such
// moments (the canary scaled up, the primary rolled out), each one status write saved. The
// machine acts on readiness at its next tick either way, and holds the exact readiness in
// memory until then. A restart in between re-observes readiness; the unready time it counts
// meanwhile brings a progress deadline nearer, never further (it fails safe). Everything
// else, including a workload turning unready, is written at once.

const TRACKS = new Set(['canary', 'primary']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Is this status merge patch (see merge-patch.ts) only readiness settling: tracks turning
 * ready and the deadlines they had going away?
 */
export function settlesReadinessOnly(patch: unknown): boolean {
  if (!isRecord(patch)) return false;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'deadlines') {
      // Deadlines may only go away.
      if (value !== null && !(isRecord(value) && Object.values(value).every((v) => v === null))) return false;
      continue;
    }
    if (key !== 'machine' || !isRecord(value)) return false;
    const machineKeys = Object.keys(value);
    if (machineKeys.length !== 1 || !isRecord(value.context)) return false;
    for (const [track, change] of Object.entries(value.context)) {
      if (!TRACKS.has(track) || !isRecord(change) || change.ready !== true) return false;
    }
  }
  return true;
}
