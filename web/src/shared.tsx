import type { ComponentChildren } from 'preact';
import type { CanarySummary } from '../../src/dashboard/api.ts';
import { phaseLook } from './format.ts';

/** In-page navigation: history.pushState and a popstate for the app to follow. */
export function navigate(path: string): void {
  if (location.pathname + location.search === path) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(event: MouseEvent) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function canaryHref(summary: Pick<CanarySummary, 'namespace' | 'name'>): string {
  return `/canaries/${encodeURIComponent(summary.namespace)}/${encodeURIComponent(summary.name)}`;
}

export function PhaseBadge(props: { phase: string }) {
  const look = phaseLook(props.phase);
  return (
    <span class={`badge tone-${look.tone}`} data-phase={props.phase}>
      <span aria-hidden="true">{look.symbol}</span> {props.phase}
    </span>
  );
}

/** The canary's share of traffic, with the maximum marked; the number is always written. */
export function WeightBar(props: { weight: number; maxWeight: number }) {
  const weight = Math.max(0, Math.min(100, props.weight));
  return (
    <span class="weight" title={`canary ${weight}%, primary ${100 - weight}%, max ${props.maxWeight}%`}>
      <span
        class="bar"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={weight}
        aria-label={`canary weight ${weight} percent of max ${props.maxWeight}`}
      >
        <span class="fill" style={{ width: `${weight}%` }} />
        <span class="max" style={{ left: `${Math.max(0, Math.min(100, props.maxWeight))}%` }} />
      </span>
      <span class="num">{weight}%</span>
    </span>
  );
}

export function stepText(summary: CanarySummary): string {
  if (summary.stepWeights.length === 0) return summary.strategy;
  return `step ${summary.step}/${summary.stepWeights.length}`;
}

/** A table's column headers, each a `<th scope="col">` for screen readers. */
export function ColumnHeads(props: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th scope="col">{column}</th>
        ))}
      </tr>
    </thead>
  );
}
