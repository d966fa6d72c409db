import type { HookType } from '../hooks/types.ts';
import type { Severity } from './notifier.ts';

/**
 * The moments of a canary run a person wants to hear about. The controller reports a
 * moment; describeMoment turns it into the words and levels that Slack, Kubernetes
 * Events and event webhooks all share, so the three never disagree.
 */
export type Moment =
  | { kind: 'initialized' }
  | { kind: 'new-revision' }
  | { kind: 'advance'; weight: number }
  | {
      kind: 'halt';
      metric: string;
      /** Undefined when the query returned no values (a failed check, never a pass). */
      value?: number;
      min?: number;
      max?: number;
      /** Appended to numbers; request-success-rate defaults to %, request-duration to ms. */
      unit?: string;
    }
  | { kind: 'webhook-failed'; hook: string; hookType: HookType; reason: string }
  | { kind: 'waiting-approval'; hook: string; hookType: HookType }
  | { kind: 'promoting' }
  | { kind: 'promotion-completed' }
  | { kind: 'rolled-back'; cause: 'failed-checks'; failedChecks: number }
  | { kind: 'rolled-back'; cause: 'progress-deadline'; deadlineSeconds: number }
  | { kind: 'rolled-back'; cause: 'rollback-webhook'; hook: string }
  | { kind: 'rolled-back'; cause: 'aborted'; by?: string };

export interface MomentDescription {
  message: string;
  severity: Severity;
  /** The Kubernetes Event type. */
  eventType: 'Normal' | 'Warning';
  /** The Kubernetes Event reason (CamelCase, as kubectl shows it). */
  reason: string;
}

const DEFAULT_UNITS: Record<string, string> = { 'request-success-rate': '%', 'request-duration': 'ms' };

/** 93.1, 99, 0.25: at most two decimals, no trailing zeros. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

function haltMessage(moment: Extract<Moment, { kind: 'halt' }>): string {
  if (moment.value === undefined) return `halt: ${moment.metric} returned no values`;
  const unit = moment.unit ?? DEFAULT_UNITS[moment.metric] ?? '';
  const show = (n: number): string => `${formatNumber(n)}${unit}`;
  if (moment.min !== undefined && moment.value < moment.min) {
    return `halt: ${moment.metric} ${show(moment.value)} < ${show(moment.min)}`;
  }
  if (moment.max !== undefined && moment.value > moment.max) {
    return `halt: ${moment.metric} ${show(moment.value)} > ${show(moment.max)}`;
  }
  return `halt: ${moment.metric} ${show(moment.value)} failed its check`;
}

export function describeMoment(moment: Moment): MomentDescription {
  switch (moment.kind) {
    case 'initialized':
      return { message: 'initialization done', severity: 'info', eventType: 'Normal', reason: 'Initialized' };
    case 'new-revision':
      return {
        message: 'new revision detected, starting canary analysis',
        severity: 'info',
        eventType: 'Normal',
        reason: 'NewRevision',
      };
    case 'advance':
      return {
        message: `advance ${moment.weight}%`,
        severity: 'info',
        eventType: 'Normal',
        reason: 'Advance',
      };
    case 'halt':
      return { message: haltMessage(moment), severity: 'warn', eventType: 'Warning', reason: 'Halt' };
    case 'webhook-failed':
      return {
        message: `${moment.hookType} webhook ${moment.hook} failed: ${moment.reason}`,
        severity: 'warn',
        eventType: 'Warning',
        reason: 'WebhookFailed',
      };
    case 'waiting-approval':
      return {
        message: `waiting for approval: ${moment.hookType} gate ${moment.hook}`,
        severity: 'warn',
        eventType: 'Normal',
        reason: 'WaitingApproval',
      };
    case 'promoting':
      return {
        message: 'analysis passed, copying the canary spec to the primary',
        severity: 'info',
        eventType: 'Normal',
        reason: 'Promoting',
      };
    case 'promotion-completed':
      return { message: 'promotion completed', severity: 'info', eventType: 'Normal', reason: 'Succeeded' };
    case 'rolled-back':
      return {
        message: rollbackMessage(moment),
        severity: 'error',
        eventType: 'Warning',
        reason: 'RolledBack',
      };
  }
}

function rollbackMessage(moment: Extract<Moment, { kind: 'rolled-back' }>): string {
  switch (moment.cause) {
    case 'failed-checks':
      return `rolled back: failed checks threshold reached (${moment.failedChecks})`;
    case 'progress-deadline':
      return `rolled back: canary not ready within the progress deadline (${moment.deadlineSeconds}s)`;
    case 'rollback-webhook':
      return `rolled back: rollback webhook ${moment.hook} asked for it`;
    case 'aborted':
      return `rolled back: aborted${moment.by ? ` by ${moment.by}` : ''}`;
  }
}
