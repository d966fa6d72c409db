import type { AnalysisResult, JudgeVerdictStatus } from '../api/status.ts';

/** What one frame of the demo's live view shows. */
export interface DemoFrame {
  title: string;
  stage: string;
  elapsedMs: number;
  phase: string;
  message: string;
  canaryWeight: number;
  maxWeight: number;
  failedChecks: number;
  threshold: number;
  analysis: readonly AnalysisResult[];
  /** The statistical judge's verdicts (sluice demo --judge). */
  judge?: readonly JudgeVerdictStatus[];
  /** Requests in the last few seconds, by the workload that answered them. */
  traffic: { total: number; canary: number; errors: number; rps: number };
  slack: readonly string[];
  outcomes: readonly string[];
}

const WIDTH = 40;

function bar(weight: number, maxWeight: number): string {
  const filled = Math.round((weight / 100) * WIDTH);
  const marker = Math.min(WIDTH - 1, Math.max(0, Math.round((maxWeight / 100) * WIDTH) - 1));
  let text = '';
  for (let i = 0; i < WIDTH; i += 1) text += i < filled ? '█' : i === marker ? '┆' : '░';
  return text;
}

function seconds(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function value(result: AnalysisResult): string {
  if (result.value === undefined) return 'no data';
  const v = result.value;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

/** The live view: weight bar, phase, metrics against thresholds, traffic, Slack. */
export function renderDemoFrame(frame: DemoFrame): string {
  const lines: string[] = [];
  lines.push(`${frame.title}   ${seconds(frame.elapsedMs)}`);
  lines.push(`Stage    ${frame.stage}`);
  lines.push(`Phase    ${frame.phase}${frame.message ? ` — ${frame.message}` : ''}`);
  lines.push(
    `Weight   primary ${String(100 - frame.canaryWeight).padStart(3)}% [${bar(frame.canaryWeight, frame.maxWeight)}] canary ${frame.canaryWeight}%`,
  );
  lines.push(`Checks   failed ${frame.failedChecks}/${frame.threshold}`);
  const share = frame.traffic.total ? Math.round((frame.traffic.canary / frame.traffic.total) * 100) : 0;
  const errors = frame.traffic.total
    ? ((frame.traffic.errors / frame.traffic.total) * 100).toFixed(1)
    : '0.0';
  lines.push(
    `Traffic  ${frame.traffic.rps.toFixed(0)} req/s through the mesh, ${share}% answered by the canary, ${errors}% errors`,
  );
  lines.push('', 'Metrics (last analysis)');
  if (frame.analysis.length === 0) lines.push('  (none yet)');
  for (const result of frame.analysis) {
    lines.push(
      `  ${result.passed ? '✔' : '✖'} ${result.name.padEnd(22)} ${value(result).padStart(8)}   ${result.threshold ?? ''}`,
    );
  }
  if (frame.judge) {
    // The judge's evidence: both arms, the effect with its interval, the Bayes factor.
    lines.push('', 'Judge (canary against primary, since the rollout started)');
    if (frame.judge.length === 0) lines.push('  (no look yet)');
    const mark = { pass: '✔', undecided: '…', fail: '✖', noData: '?', error: '!' } as const;
    for (const verdict of frame.judge)
      lines.push(`  ${mark[verdict.outcome]} ${verdict.outcome.padEnd(9)} ${verdict.reason}`);
  }
  lines.push('', 'Slack');
  if (frame.slack.length === 0) lines.push('  (no messages yet)');
  for (const message of frame.slack.slice(-6)) lines.push(`  ${message}`);
  if (frame.outcomes.length) {
    lines.push('', 'Outcomes');
    for (const outcome of frame.outcomes) lines.push(`  ${outcome}`);
  }
  return lines.join('\n');
}
