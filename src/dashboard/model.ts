import { CanarySpec, effectiveMaxWeight } from '../api/canary.ts';
import { planFromSpec, type Plan } from '../machine/plan.ts';
import { ACTOR_ANNOTATION } from '../notify/events.ts';
import type {
  AnalysisEntry,
  CanarySummary,
  MetricLimit,
  MetricPoint,
  TimelineEntry,
  TimelineKind,
  Verdict,
} from './api.ts';

// Pure views of a Canary for the dashboard: what the list shows, the analysis entries
// read generically (the judge's fields when present), the timeline. No I/O here.

/** A Canary as the watch delivers it: plain JSON, not validated. */
export interface WatchedCanary {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec?: unknown;
  status?: Record<string, unknown>;
}

/** A Kubernetes Event about a Canary, as the watch delivers it. */
export interface WatchedEvent {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  series?: { count?: number; lastObservedTime?: string };
}

const FAILING_PHASES = new Set(['Failed', 'Terminating']);

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** The spec, validated with the API's schema; undefined when it does not validate. */
export function parsedSpec(canary: WatchedCanary): CanarySpec | undefined {
  const parsed = CanarySpec.safeParse(canary.spec);
  return parsed.success ? parsed.data : undefined;
}

function planOf(spec: CanarySpec | undefined): Plan | undefined {
  if (!spec) return undefined;
  try {
    return planFromSpec(spec);
  } catch {
    return undefined;
  }
}

/** A number from a judge field: a plain number, or an object's `value` / `estimate` / `mean`. */
function estimate(value: unknown): number | undefined {
  const direct = num(value);
  if (direct !== undefined) return direct;
  const object = record(value);
  if (!object) return undefined;
  return num(object.value) ?? num(object.estimate) ?? num(object.mean) ?? num(object.median);
}

/** An interval as `[low, high]`, `{low, high}`, `{lower, upper}` or `{from, to}`. */
function interval(value: unknown): [number, number] | undefined {
  if (Array.isArray(value) && value.length === 2) {
    const [low, high] = [num(value[0]), num(value[1])];
    return low !== undefined && high !== undefined ? [low, high] : undefined;
  }
  const object = record(value);
  if (!object) return undefined;
  const low = num(object.low) ?? num(object.lower) ?? num(object.from) ?? num(object.min);
  const high = num(object.high) ?? num(object.upper) ?? num(object.to) ?? num(object.max);
  return low !== undefined && high !== undefined ? [low, high] : undefined;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

const KNOWN = new Set([
  'name',
  'passed',
  'inconclusive',
  'value',
  'threshold',
  'reason',
  'dryRun',
  'canary',
  'primary',
  'effect',
  'interval',
  'evidence',
]);

/** The fields that have a value (an undefined one is left out, not set to undefined). */
function withValues<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** `status.lastAnalysis`, read field by field; entries without a name are left out. */
export function analysisEntries(status: Record<string, unknown> | undefined): AnalysisEntry[] {
  const list = Array.isArray(status?.lastAnalysis) ? (status.lastAnalysis as unknown[]) : [];
  const entries: AnalysisEntry[] = [];
  for (const item of list) {
    const raw = record(item);
    const name = str(raw?.name);
    if (!raw || !name) continue;
    const entry: AnalysisEntry = {
      name,
      passed: raw.passed === true,
      extra: {},
      ...withValues({
        value: num(raw.value),
        threshold: text(raw.threshold),
        reason: text(raw.reason),
        dryRun: raw.dryRun === true ? true : undefined,
        inconclusive: raw.inconclusive === true ? true : undefined,
        canary: estimate(raw.canary),
        primary: estimate(raw.primary),
        effect: estimate(raw.effect),
        interval: interval(raw.interval) ?? interval(record(raw.effect)?.interval),
        evidence: text(raw.evidence),
      }),
    };
    for (const [key, extra] of Object.entries(raw)) {
      if (KNOWN.has(key)) continue;
      const shown = text(extra);
      if (shown !== undefined) entry.extra[key] = shown;
    }
    entries.push(entry);
  }
  return entries;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}

/** The judge's verdict: the entries that compare the canary with the primary. */
export function verdictOf(entries: readonly AnalysisEntry[]): Verdict | null {
  const judged = entries.filter((e) => e.canary !== undefined && e.primary !== undefined);
  if (judged.length === 0) return null;
  const failed = judged.filter((e) => !e.passed);
  const shown = failed[0] ?? judged[0]!;
  const parts = [`canary ${formatNumber(shown.canary!)} vs primary ${formatNumber(shown.primary!)}`];
  if (shown.interval)
    parts.push(`interval ${formatNumber(shown.interval[0])} … ${formatNumber(shown.interval[1])}`);
  const more = judged.length > 1 ? ` (+${judged.length - 1} more)` : '';
  return {
    passed: failed.length === 0,
    text: `${failed.length === 0 ? 'no regression' : 'regression'}: ${shown.name} ${parts.join(', ')}${more}`,
  };
}

function strategyLabel(spec: CanarySpec | undefined, plan: Plan | undefined): CanarySummary['strategy'] {
  const strategy = plan?.strategy;
  if (strategy === 'abTesting') return 'A/B testing';
  if (strategy === 'blueGreen') return 'blue/green';
  if (!plan && spec?.analysis.iterations) return spec.analysis.match?.length ? 'A/B testing' : 'blue/green';
  return 'canary';
}

function machineOf(status: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return record(status?.machine);
}

/** The weight steps of the program and the 1-based step the cursor is at (0 before the first). */
function stepsOf(plan: Plan | undefined, cursor: number | undefined, weight: number) {
  const steps = plan?.steps ?? [];
  const stepWeights = steps.flatMap((s) => (s.kind === 'setWeight' ? [s.weight] : []));
  let step = 0;
  if (cursor !== undefined) {
    for (let i = 0; i <= Math.min(cursor, steps.length - 1); i += 1)
      if (steps[i]?.kind === 'setWeight') step += 1;
  } else {
    step = stepWeights.filter((w) => w <= weight && weight > 0).length;
  }
  return { stepWeights, step: weight === 0 ? 0 : step };
}

/** What the list shows of one canary. */
export function summarize(canary: WatchedCanary): CanarySummary {
  const status = canary.status ?? {};
  const spec = parsedSpec(canary);
  const plan = planOf(spec);
  const machine = machineOf(status);
  const weight = num(status.canaryWeight) ?? 0;
  const phase = str(status.phase) ?? 'Pending';
  const failedChecks = num(status.failedChecks) ?? 0;
  const threshold = spec?.analysis.threshold ?? 1;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]).map(record) : [];
  const stalled = conditions.find((c) => c?.type === 'Stalled' && c.status === 'True');
  const ready = conditions.find((c) => c?.type === 'Ready');
  const message = str(status.message) ?? str(stalled?.message) ?? str(ready?.message) ?? '';
  const entries = analysisEntries(status);
  const { stepWeights, step } = stepsOf(plan, num(machine?.cursor), weight);
  const waiting = str(machine?.gateWaiting) ?? null;
  return {
    key: `${canary.metadata.namespace}/${canary.metadata.name}`,
    namespace: canary.metadata.namespace,
    name: canary.metadata.name,
    phase,
    weight,
    maxWeight: plan?.maxWeight ?? (spec ? effectiveMaxWeight(spec.analysis) : 100),
    stepWeights,
    step,
    failedChecks,
    threshold,
    failing: FAILING_PHASES.has(phase) || failedChecks > 0 || stalled !== undefined,
    paused: machine?.paused === true,
    waitingFor: waiting,
    lastTransitionTime: str(status.lastTransitionTime) ?? null,
    message,
    strategy: strategyLabel(spec, plan),
    provider: spec?.provider ?? null,
    target: spec ? `${spec.targetRef.kind}/${spec.targetRef.name}` : '',
    verdict: verdictOf(entries),
    suspended: spec?.suspend === true || machine?.suspendedAt !== undefined,
  };
}

/** thresholdRange of each metric of the spec: the limit its chart draws. */
export function metricLimits(canary: WatchedCanary): Record<string, MetricLimit> {
  const limits: Record<string, MetricLimit> = {};
  for (const metric of parsedSpec(canary)?.analysis.metrics ?? []) {
    const range = metric.thresholdRange;
    if (!range) continue;
    limits[metric.name] = {
      ...(range.min !== undefined ? { min: range.min } : {}),
      ...(range.max !== undefined ? { max: range.max } : {}),
    };
  }
  return limits;
}

/** One chart point per analysis entry. */
export function metricPoints(entries: readonly AnalysisEntry[], at: number): Record<string, MetricPoint> {
  const points: Record<string, MetricPoint> = {};
  for (const e of entries) {
    points[e.name] = {
      at,
      value: e.value ?? e.canary ?? null,
      passed: e.passed,
      ...(e.canary !== undefined ? { canary: e.canary } : {}),
      ...(e.primary !== undefined ? { primary: e.primary } : {}),
      ...(e.interval ? { low: e.interval[0], high: e.interval[1] } : {}),
    };
  }
  return points;
}

const GATE_REASONS = new Set(['WaitingApproval', 'GateOpened', 'GateClosed']);
const COMMAND_REASONS = new Set(['Paused', 'Resumed', 'CommandIgnored', 'CommandRequested']);

function kindOfEvent(reason: string, message: string): TimelineKind {
  if (GATE_REASONS.has(reason) || /\(gate (open|closed)\)/.test(message)) return 'gate';
  if (COMMAND_REASONS.has(reason)) return 'command';
  if (/webhook|hook/i.test(reason)) return 'webhook';
  return 'event';
}

/** A Kubernetes Event as a timeline entry (who acted, from the actor annotation). */
export function eventEntry(event: WatchedEvent): TimelineEntry {
  const reason = event.reason ?? '';
  const by = event.metadata.annotations?.[ACTOR_ANNOTATION];
  return {
    at:
      event.series?.lastObservedTime ??
      event.lastTimestamp ??
      event.eventTime ??
      event.firstTimestamp ??
      new Date(0).toISOString(),
    kind: kindOfEvent(reason, event.message ?? ''),
    type: event.type === 'Warning' ? 'Warning' : 'Normal',
    reason,
    message: event.message ?? '',
    count: event.series?.count ?? event.count ?? 1,
    ...(by ? { by } : {}),
  };
}

function gateOf(status: Record<string, unknown> | undefined) {
  const gate = record(record(machineOf(status)?.round)?.gate);
  const id = num(gate?.id);
  if (!gate || id === undefined) return undefined;
  return {
    id,
    type: str(gate.type) ?? 'gate',
    passed: typeof gate.passed === 'boolean' ? gate.passed : null,
  };
}

/**
 * What changed between two statuses of one canary that a person would want on the
 * timeline and no Event says: a gate's answer, a command handled.
 */
export function observedChanges(
  previous: Record<string, unknown> | undefined,
  next: Record<string, unknown> | undefined,
  at: string,
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const gateBefore = gateOf(previous);
  const gateNow = gateOf(next);
  if (
    gateNow &&
    gateNow.passed !== null &&
    (gateBefore?.id !== gateNow.id || gateBefore.passed !== gateNow.passed)
  ) {
    entries.push({
      at,
      kind: 'gate',
      type: 'Normal',
      reason: gateNow.passed ? 'GateOpen' : 'GateClosed',
      message: `${gateNow.type} gate ${gateNow.passed ? 'open: approved' : 'closed: not approved yet'}`,
      count: 1,
    });
  }
  const command = record(next?.lastCommand);
  const commandBefore = record(previous?.lastCommand);
  const id = str(command?.id);
  if (command && id && id !== str(commandBefore?.id)) {
    entries.push({
      at: str(command.handledAt) ?? at,
      kind: 'command',
      type: 'Normal',
      reason: 'CommandHandled',
      message: `${str(command.command) ?? 'command'}: ${str(command.result) ?? 'handled'}`,
      count: 1,
    });
  }
  return entries;
}

/** Events and observed entries in time order, the same entry once. */
export function mergeTimeline(...lists: readonly (readonly TimelineEntry[])[]): TimelineEntry[] {
  const seen = new Set<string>();
  const all: TimelineEntry[] = [];
  for (const entry of lists.flat()) {
    const key = `${entry.at}|${entry.reason}|${entry.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    all.push(entry);
  }
  return all.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
