// Small formatting helpers of the page (pure; unit-tested in format.test.ts).

/** "45s", "3m", "2h", "5d" — kubectl's compact ages. */
export function age(from: string | null | undefined, now: number): string {
  if (!from) return '–';
  const seconds = Math.max(0, Math.round((now - Date.parse(from)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

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
