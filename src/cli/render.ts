import type { CanaryStatus } from '../api/status.ts';
import { SHARD_LABEL } from '../controller/shard.ts';

/** What the CLI shows of a Canary: read straight from the object the apiserver returns. */
export interface CanaryView {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec?: {
    provider?: string;
    targetRef?: { kind?: string; name?: string };
    analysis?: {
      maxWeight?: number;
      stepWeights?: number[];
      iterations?: number;
      match?: unknown[];
      threshold?: number;
      interval?: string;
    };
    suspend?: boolean;
  };
  status?: CanaryStatus;
}

export interface EventView {
  type?: string;
  reason?: string;
  message?: string;
  time?: string;
  count?: number;
}

const TERMINAL_OK = new Set(['Succeeded', 'Initialized']);

export function isTerminal(phase: string | undefined): 'succeeded' | 'failed' | undefined {
  if (phase === undefined) return undefined;
  if (TERMINAL_OK.has(phase)) return 'succeeded';
  if (phase === 'Failed') return 'failed';
  return undefined;
}

/** "3m", "2h", "5d": kubectl's compact ages. */
export function age(from: string | undefined, now: number): string {
  if (!from) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(from)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** The `sluice get` table. */
export function renderTable(canaries: readonly CanaryView[], now: number, allNamespaces: boolean): string {
  const header = [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'SHARD',
    'PHASE',
    'WEIGHT',
    'FAILED',
    'LAST TRANSITION',
    'MESSAGE',
  ];
  const rows = canaries.map((c) => {
    const s = c.status ?? {};
    const message = String((s as { message?: unknown }).message ?? readyMessage(s) ?? '');
    return [
      ...(allNamespaces ? [c.metadata.namespace] : []),
      c.metadata.name,
      shardOf(c),
      s.phase ?? 'Pending',
      `${s.canaryWeight ?? 0}%`,
      `${s.failedChecks ?? 0}/${c.spec?.analysis?.threshold ?? 1}`,
      age(s.lastTransitionTime, now),
      message.length > 70 ? `${message.slice(0, 67)}...` : message,
    ];
  });
  if (rows.length === 0) return 'No canaries found.';
  return pad([header, ...rows]);
}

/**
 * The shard label (`-`: none, the unsharded replica's), and `(handing over)` while the status
 * still names the shard it was relabelled away from.
 */
function shardOf(canary: CanaryView): string {
  const shard = canary.metadata.labels?.[SHARD_LABEL];
  const heldBy = canary.status?.heldBy;
  const moving = heldBy !== undefined && heldBy.shard !== shard;
  return `${shard ?? '-'}${moving ? ' (handing over)' : ''}`;
}

function readyMessage(status: CanaryStatus): string | undefined {
  return (
    status.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True')?.message ??
    status.conditions?.find((c) => c.type === 'Ready')?.message
  );
}

/** A fixed-width bar: filled for the canary's share, with a marker at the maximum weight. */
export function weightBar(weight: number, maxWeight: number, width = 30): string {
  const filled = Math.round((Math.min(100, Math.max(0, weight)) / 100) * width);
  const marker = Math.min(width - 1, Math.round((maxWeight / 100) * width) - 1);
  let bar = '';
  for (let i = 0; i < width; i += 1) bar += i < filled ? '█' : i === marker ? '┆' : '░';
  return `[${bar}]`;
}

function clock(iso: string | undefined): string {
  return iso ? new Date(iso).toISOString().slice(11, 19) : '--:--:--';
}

function strategy(view: CanaryView): string {
  const a = view.spec?.analysis ?? {};
  if (a.match?.length && a.iterations) return 'A/B testing';
  if (a.iterations) return 'blue/green';
  return 'canary';
}

/** The `sluice status` screen (also each frame of `--watch`). */
export function renderStatus(view: CanaryView, events: readonly EventView[], now: number): string {
  const s = view.status ?? {};
  const maxWeight = view.spec?.analysis?.maxWeight ?? view.spec?.analysis?.stepWeights?.at(-1) ?? 100;
  const weight = s.canaryWeight ?? 0;
  const lines: string[] = [];
  const target = view.spec?.targetRef
    ? `${view.spec.targetRef.kind ?? 'Deployment'}/${view.spec.targetRef.name ?? '?'}`
    : '?';
  lines.push(
    `Canary     ${view.metadata.namespace}/${view.metadata.name}   ${target}   ${view.spec?.provider ?? 'default provider'}, ${strategy(view)}${view.spec?.suspend ? '   (suspended)' : ''}`,
  );
  const message = String((s as { message?: unknown }).message ?? readyMessage(s) ?? '');
  lines.push(`Phase      ${s.phase ?? 'Pending'}${message ? ` — ${message}` : ''}`);
  lines.push(
    `Weight     ${weightBar(weight, maxWeight)} canary ${weight}%  primary ${100 - weight}%  (max ${maxWeight}%)`,
  );
  const threshold = view.spec?.analysis?.threshold ?? 1;
  const iterations = view.spec?.analysis?.iterations;
  lines.push(
    `Checks     failed ${s.failedChecks ?? 0}/${threshold}${iterations ? `   iteration ${s.iterations ?? 0}/${iterations}` : ''}   interval ${view.spec?.analysis?.interval ?? '60s'}`,
  );
  if (s.lastAppliedSpec || s.lastPromotedSpec) {
    lines.push(`Revision   ${short(s.lastAppliedSpec)}   last promoted ${short(s.lastPromotedSpec)}`);
  }
  if (s.nextStepAt) {
    const inSeconds = Math.round((Date.parse(s.nextStepAt) - now) / 1000);
    lines.push(
      `Next step  ${clock(s.nextStepAt)} (${inSeconds >= 0 ? `in ${inSeconds}s` : `${-inSeconds}s ago`})`,
    );
  }
  for (const condition of s.conditions ?? []) {
    if (condition.type === 'Stalled' && condition.status === 'True')
      lines.push(`Stalled    ${condition.message}`);
  }
  if (s.lastAnalysis?.length) {
    lines.push('', 'Analysis');
    const rows = s.lastAnalysis.map((r) => [
      `  ${r.passed ? '✔' : r.inconclusive ? '?' : '✖'} ${r.name}${r.dryRun ? ' (dry run)' : ''}${r.inconclusive ? ' (inconclusive)' : ''}`,
      r.value === undefined ? 'no value' : formatNumber(r.value),
      r.threshold ?? '',
      r.passed ? '' : (r.reason ?? ''),
    ]);
    lines.push(pad(rows));
  }
  if (s.judge?.verdicts.length) {
    // The statistical judge: each metric's verdict in one line (both arms, effect, evidence).
    const mark = { pass: '✔', undecided: '…', fail: '✖', noData: '?', error: '!' } as const;
    lines.push('', `Judge      (revision ${short(s.judge.revision)}, looked at ${clock(s.judge.lookedAt)})`);
    for (const verdict of s.judge.verdicts)
      lines.push(`  ${mark[verdict.outcome]} ${verdict.outcome}  ${verdict.reason}`);
  }
  if (events.length) {
    lines.push('', 'Events');
    for (const e of events.slice(-8)) {
      lines.push(
        `  ${clock(e.time)}  ${(e.type ?? '').padEnd(7)}  ${e.message ?? e.reason ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

function short(hash: string | undefined): string {
  return hash ? hash.slice(0, 10) : '-';
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(4)).toString();
}
