import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { API_VERSION } from '../api/common.ts';
import type { Canary } from '../api/canary.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import type { MetricTemplate } from '../api/metric-template.ts';
import { formatIssues, parseCanary, parseMetricTemplate } from '../api/validate.ts';
import { replay, type ReplayOutcome, type ReplayStep } from '../replay/engine.ts';
import { CliError } from './canaries.ts';

// `sluice replay -f canary.yaml --from T1 --to T2 [--prometheus URL] [--compare other.yaml]`:
// what Sluice would have decided for this Canary over recorded metrics. Exit code 0: it would
// have promoted; 1: rolled back; 2: an error, or no decision within the window.

export interface ReplaySpec {
  file: string;
  canary: Canary;
  templates: MetricTemplate[];
}

/** Reads one Canary (sluice.dev) and any MetricTemplates from a multi-document YAML file. */
export async function readReplaySpec(file: string): Promise<ReplaySpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`${file}: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
  const canaries: Canary[] = [];
  const templates: MetricTemplate[] = [];
  parseAllDocuments(text).forEach((document, i) => {
    if (document.errors.length)
      throw new CliError(`${file}: document ${i + 1}: ${document.errors[0]!.message}`, 2);
    const object = document.toJS() as { apiVersion?: string; kind?: string } | null;
    if (!object) return;
    const where = `${file} (document ${i + 1})`;
    if (object.apiVersion !== API_VERSION) {
      throw new CliError(
        `${where}: ${object.kind ?? 'object'} has apiVersion ${object.apiVersion ?? '(none)'}, expected ${API_VERSION}; convert Flagger objects with sluice migrate`,
        2,
      );
    }
    if (object.kind === 'Canary') {
      const parsed = parseCanary(object);
      if (!parsed.ok) throw new CliError(`${where}: ${formatIssues(object, parsed.issues)}`, 2);
      canaries.push(parsed.canary);
    } else if (object.kind === 'MetricTemplate') {
      const parsed = parseMetricTemplate(object);
      if (!parsed.ok) throw new CliError(`${where}: ${formatIssues(object, parsed.issues)}`, 2);
      templates.push(parsed.metricTemplate);
    }
  });
  if (canaries.length !== 1) {
    throw new CliError(`${file}: expected exactly one Canary, found ${canaries.length}`, 2);
  }
  return { file, canary: canaries[0]!, templates };
}

/** RFC 3339, Unix seconds, `now` or `now-<duration>` (e.g. now-2h) → ms. */
export function parseInstant(text: string, flag: string, now = Date.now()): number {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  const relative = /^now-(.+)$/.exec(trimmed);
  if (relative) {
    const ms = parseDuration(relative[1]!);
    if (ms !== undefined) return now - ms;
  } else if (/^[0-9]+(\.[0-9]+)?$/.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  } else {
    const parsed = Date.parse(trimmed);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new CliError(
    `${flag}: "${text}" is not a time; expected RFC 3339 (2025-01-31T12:00:00Z), Unix seconds, or now-2h`,
    2,
  );
}

const clock = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function stepLines(step: ReplayStep): string[] {
  const head = `${clock(step.at)}  ${step.kind === 'round' ? 'round' : 'fast-fail look'}  ${step.phase}, canary at ${step.canaryWeight} %`;
  const checks = step.checks.map(
    (check) =>
      `    ${check.passed ? 'pass' : check.dryRun ? 'fail (dry run)' : 'FAIL'}  ${check.reason}${check.threshold ? ` [limit: ${check.threshold}]` : ''}`,
  );
  const verdicts = step.verdicts.map((verdict) => `    judge ${verdict.outcome.padEnd(9)} ${verdict.reason}`);
  const events = step.events.map((event) => `    event: ${event}`);
  return [head, ...checks, ...verdicts, ...events];
}

export function outcomeLine(outcome: ReplayOutcome, from: number): string {
  const after = `${formatDuration(outcome.at - from)} after the start`;
  switch (outcome.result) {
    case 'promote':
      return `would promote at ${clock(outcome.at)} (${after}): ${outcome.reason}`;
    case 'rollback':
      return `would roll back at ${clock(outcome.at)} (${after}): ${outcome.reason}`;
    case 'undecided':
      return `no decision by ${clock(outcome.at)}: ${outcome.reason}`;
  }
}

/** The report of one replay, as printed. */
export function renderReplay(spec: ReplaySpec, outcome: ReplayOutcome, from: number): string {
  const lines = [
    `${spec.file}: Canary ${spec.canary.metadata.namespace ?? 'default'}/${spec.canary.metadata.name}`,
  ];
  for (const step of outcome.steps) lines.push(...stepLines(step));
  lines.push(`=> ${outcomeLine(outcome, from)}`);
  return lines.join('\n');
}

/** One short cell per round for the side-by-side table. */
function cell(step: ReplayStep | undefined): string {
  if (!step) return '';
  const failed = [
    ...step.checks.filter((c) => !c.passed && !c.dryRun).map((c) => c.name),
    ...step.verdicts.filter((v) => v.outcome === 'fail').map((v) => `judge ${v.name}`),
  ];
  const evidence = step.verdicts
    .filter((v) => v.evidence)
    .map((v) => `${v.name} BF ${Number(v.evidence!.bayesFactor.toPrecision(2))}`);
  return [`${step.canaryWeight} %`, failed.length ? `failed: ${failed.join(', ')}` : 'ok', ...evidence].join(
    '; ',
  );
}

/** Two replays on the same data, side by side, then each in full. */
export function renderComparison(
  a: { spec: ReplaySpec; outcome: ReplayOutcome },
  b: { spec: ReplaySpec; outcome: ReplayOutcome },
  from: number,
): string {
  const times = [...new Set([...a.outcome.steps, ...b.outcome.steps].map((s) => s.at))].sort((x, y) => x - y);
  const rows = times.map((at) => [
    clock(at),
    cell(a.outcome.steps.find((s) => s.at === at)),
    cell(b.outcome.steps.find((s) => s.at === at)),
  ]);
  const header = ['time', `A: ${a.spec.file}`, `B: ${b.spec.file}`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    `A => ${outcomeLine(a.outcome, from)}`,
    `B => ${outcomeLine(b.outcome, from)}`,
    '',
    renderReplay(a.spec, a.outcome, from),
    '',
    renderReplay(b.spec, b.outcome, from),
  ].join('\n');
}

export function exitCodeOf(outcome: ReplayOutcome): number {
  return outcome.result === 'promote' ? 0 : outcome.result === 'rollback' ? 1 : 2;
}

interface ReplayFlags {
  file: string;
  from: string;
  to: string;
  prometheus?: string;
  compare?: string;
  output: 'text' | 'json';
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      "run a Canary's analysis (thresholds, templates, judge) over recorded Prometheus data; exit 0 promote, 1 roll back, 2 error or no decision",
    )
    .requiredOption(
      '-f, --file <canary.yaml>',
      'the Canary, and any MetricTemplates it uses, in one YAML file',
    )
    .requiredOption('--from <time>', 'when the new revision appears: RFC 3339, Unix seconds or now-2h')
    .requiredOption('--to <time>', 'the end of the window')
    .option('--prometheus <url>', 'Prometheus to query (overrides spec.metricsServer and template addresses)')
    .option('--compare <other.yaml>', 'a second spec replayed on the same data, shown side by side')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (flags: ReplayFlags) => {
      const now = Date.now();
      const from = parseInstant(flags.from, '--from', now);
      const to = parseInstant(flags.to, '--to', now);
      if (to <= from) throw new CliError('--to must be later than --from', 2);
      const specs = [await readReplaySpec(flags.file)];
      if (flags.compare) specs.push(await readReplaySpec(flags.compare));
      const outcomes: ReplayOutcome[] = [];
      for (const spec of specs) {
        try {
          outcomes.push(
            await replay({
              canary: spec.canary,
              templates: spec.templates,
              from,
              to,
              ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
            }),
          );
        } catch (error) {
          throw new CliError(`${spec.file}: ${error instanceof Error ? error.message : String(error)}`, 2);
        }
      }
      const [first, second] = outcomes;
      if (flags.output === 'json') {
        process.stdout.write(
          `${JSON.stringify(
            specs.map((spec, i) => ({ file: spec.file, ...outcomes[i] })),
            null,
            2,
          )}\n`,
        );
      } else if (second) {
        process.stdout.write(
          `${renderComparison({ spec: specs[0]!, outcome: first! }, { spec: specs[1]!, outcome: second }, from)}\n`,
        );
      } else {
        process.stdout.write(`${renderReplay(specs[0]!, first!, from)}\n`);
      }
      process.exitCode = exitCodeOf(first!);
    });
}
