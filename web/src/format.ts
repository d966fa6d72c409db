// Small formatting helpers of the page (pure; unit-tested in format.test.ts).

/** kubectl's compact ages, as `sluice get` writes them. */
export { age } from '../../src/cli/render.ts';

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'no value';
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(4)).toString();
}

export function shortRevision(hash: string | null): string {
  return hash ? hash.slice(0, 10) : '–';
}

export function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

/** Phases and how the page marks them: a symbol and a word as well as a colour. */
export const PHASE_LOOK: Record<string, { symbol: string; tone: 'ok' | 'bad' | 'busy' | 'wait' | 'idle' }> = {
  Succeeded: { symbol: '✔', tone: 'ok' },
  Initialized: { symbol: '✔', tone: 'ok' },
  Failed: { symbol: '✖', tone: 'bad' },
  Terminating: { symbol: '■', tone: 'idle' },
  Terminated: { symbol: '■', tone: 'idle' },
  Progressing: { symbol: '▶', tone: 'busy' },
  Promoting: { symbol: '▲', tone: 'busy' },
  Finalising: { symbol: '▲', tone: 'busy' },
  Waiting: { symbol: '⏸', tone: 'wait' },
  WaitingPromotion: { symbol: '⏸', tone: 'wait' },
  Initializing: { symbol: '…', tone: 'idle' },
  Pending: { symbol: '…', tone: 'idle' },
};

export const PHASES = Object.keys(PHASE_LOOK);

export function phaseLook(phase: string) {
  return PHASE_LOOK[phase] ?? { symbol: '•', tone: 'idle' as const };
}
