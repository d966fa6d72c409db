import type { CanarySummary } from './api.ts';

// The list's order and filters, shared by the server (`/api/canaries`) and the page (live
// updates re-sort in the browser). Types only from api.ts: the bundle imports this file.

const ACTIVE_PHASES = new Set(['Progressing', 'WaitingPromotion', 'Promoting', 'Finalising', 'Waiting']);

/** 0 failing, 1 in flight, 2 the rest. */
export function urgency(summary: CanarySummary): number {
  return summary.failing ? 0 : ACTIVE_PHASES.has(summary.phase) ? 1 : 2;
}

/** Failing canaries first, then those in flight, then the rest; by namespace and name within. */
export function compareSummaries(a: CanarySummary, b: CanarySummary): number {
  return urgency(a) - urgency(b) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
}

export interface SummaryFilter {
  namespace?: string | undefined;
  phase?: string | undefined;
}

export function filterSummaries(list: readonly CanarySummary[], filter: SummaryFilter): CanarySummary[] {
  return list
    .filter((s) => !filter.namespace || s.namespace === filter.namespace)
    .filter((s) => !filter.phase || s.phase === filter.phase)
    .sort(compareSummaries);
}
