import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from './stats.ts';

// How a benchmark reports: a table for people, one `key=value` line for scripts (always the
// last line on stdout), and the full result as JSON under bench/results/.

/** Figures of one controller's run: numbers only, keyed like `tick_lag_p99_ms`. */
export type Figures = Record<string, number>;

/** A figure as text: at most three decimals, no trailing zeros; `na` when not measured. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'na';
  const rounded = Math.round(value * 1000) / 1000;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/**
 * The comparison figures: Sluice's keys as they are, Flagger's prefixed `flagger_`, and
 * `<key>_ratio` = Sluice / Flagger for every key both have (na when Flagger's is 0 or missing).
 */
export function compareFigures(sluice: Figures, flagger?: Figures): Figures {
  if (!flagger) return { ...sluice };
  const out: Figures = { ...sluice };
  for (const [key, value] of Object.entries(flagger)) out[`flagger_${key}`] = value;
  for (const [key, value] of Object.entries(sluice)) {
    const theirs = flagger[key];
    if (theirs === undefined) continue;
    out[`${key}_ratio`] = theirs === 0 ? (value === 0 ? 1 : Number.NaN) : value / theirs;
  }
  return out;
}

/** `scale n=1000 tick_lag_p99_ms=12.5 …`: the bench name, then `labels`, then the figures. */
export function keyValueLine(
  bench: string,
  labels: Record<string, string | number>,
  figures: Figures,
): string {
  const parts = [bench];
  for (const [key, value] of Object.entries(labels)) parts.push(`${key}=${value}`);
  for (const [key, value] of Object.entries(figures)) parts.push(`${key}=${formatNumber(value)}`);
  return parts.join(' ');
}

/** Parses a key=value line back (for scripts, and to test the round trip). */
export function parseKeyValueLine(line: string): { bench: string; values: Record<string, string> } {
  const [bench = '', ...pairs] = line.trim().split(/\s+/);
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`not a key=value pair: ${pair}`);
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { bench, values };
}

export interface TableRow {
  figure: string;
  sluice: number;
  flagger?: number;
}

/** A plain-text table: figure, Sluice, and with Flagger's figures Flagger and Sluice/Flagger. */
export function table(title: string, rows: readonly TableRow[]): string {
  const withFlagger = rows.some((row) => row.flagger !== undefined);
  const header = withFlagger ? ['figure', 'sluice', 'flagger', 'sluice/flagger'] : ['figure', 'sluice'];
  const body = rows.map((row) => {
    const cells = [row.figure, formatNumber(row.sluice)];
    if (withFlagger) {
      const theirs = row.flagger ?? Number.NaN;
      const ratio = theirs === 0 ? (row.sluice === 0 ? 1 : Number.NaN) : row.sluice / theirs;
      cells.push(formatNumber(theirs), formatNumber(Math.round(ratio * 100) / 100));
    }
    return cells;
  });
  return textTable(title, header, body);
}

/** Columns padded to their widest cell: the first left-aligned, the others right-aligned. */
export function textTable(title: string, header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Rows for every key of Sluice's figures, with Flagger's figure of the same key when there is one. */
export function rowsOf(sluice: Figures, flagger?: Figures): TableRow[] {
  return Object.entries(sluice).map(([figure, value]) => ({
    figure,
    sluice: value,
    ...(flagger && figure in flagger ? { flagger: flagger[figure] as number } : {}),
  }));
}

/** A filesystem-safe UTC timestamp, e.g. 2025-01-31T12-00-00Z. */
export function timestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
}

/** Writes bench/results/<name>-<timestamp>.json and returns its path. */
export async function writeResult(dir: string, name: string, result: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}-${timestamp()}.json`);
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** The median of each figure over rounds (NaN values and missing keys are left out). */
export function medianFigures(runs: readonly Figures[]): Figures {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run)))];
  const out: Figures = {};
  for (const key of keys) {
    const values = runs
      .map((run) => run[key])
      .filter((v): v is number => v !== undefined && !Number.isNaN(v));
    out[key] = values.length ? median(values) : Number.NaN;
  }
  return out;
}
