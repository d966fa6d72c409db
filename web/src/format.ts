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

type PhaseLook = { symbol: string; tone: 'ok' | 'bad' | 'busy' | 'wait' | 'idle' };

// The looks phases share: done well, stopping, moving traffic, waiting, not started.
const DONE: PhaseLook = { symbol: '✔', tone: 'ok' };
const STOPPED: PhaseLook = { symbol: '■', tone: 'idle' };
const PROMOTING: PhaseLook = { symbol: '▲', tone: 'busy' };
const WAITING: PhaseLook = { symbol: '⏸', tone: 'wait' };
const PENDING: PhaseLook = { symbol: '…', tone: 'idle' };

/** Phases and how the page marks them: a symbol and a word as well as a colour. */
export const PHASE_LOOK: Record<string, PhaseLook> = {
  Succeeded: DONE,
  Initialized: DONE,
  Failed: { symbol: '✖', tone: 'bad' },
  Terminating: STOPPED,
  Terminated: STOPPED,
  Progressing: { symbol: '▶', tone: 'busy' },
  Promoting: PROMOTING,
  Finalising: PROMOTING,
  Waiting: WAITING,
  WaitingPromotion: WAITING,
  Initializing: PENDING,
  Pending: PENDING,
};

export const PHASES = Object.keys(PHASE_LOOK);

export function phaseLook(phase: string) {
  return PHASE_LOOK[phase] ?? { symbol: '•', tone: 'idle' as const };
}
