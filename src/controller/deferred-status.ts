// Status writes that can wait for the canary's next one. Two kinds of change say nothing a
// person or another controller acts on:
// - readiness settling: the canary (scaled up) or the primary (rolled out) turned ready, and
//   the deadline it ran against went away; the machine acts on it at its next tick anyway;
// - a re-armed tick: a step found a workload not ready yet and will look again one interval
//   later (only nextStepAt moves; the first such tick, which changes the message to
//   "waiting for …", is written).
// The reconciler keeps the newest status in memory and writes it with the next change that
// counts, within an interval, or at a clean shutdown. A crash in between loses only these:
// on restart readiness is observed again (the unready time counted meanwhile brings a
// progress deadline nearer, never further: it fails safe) and an overdue tick runs at once.
// Anything else, including a workload turning unready, is written at once.

const TRACKS = new Set(['canary', 'primary']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Is this status merge patch (see merge-patch.ts) only readiness settling and a re-armed tick? */
export function canWait(patch: unknown): boolean {
  if (!isRecord(patch)) return false;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'nextStepAt' && typeof value === 'string') continue;
    if (key === 'deadlines') {
      // Deadlines may only go away.
      if (value !== null && !(isRecord(value) && Object.values(value).every((v) => v === null))) return false;
      continue;
    }
    if (key !== 'machine' || !isRecord(value)) return false;
    const machineKeys = Object.keys(value);
    if (machineKeys.length !== 1 || !isRecord(value.context)) return false;
    for (const [field, change] of Object.entries(value.context)) {
      if (field === 'nextTickAt' && typeof change === 'number') continue;
      if (!TRACKS.has(field) || !isRecord(change) || change.ready !== true) return false;
    }
  }
  return true;
}
