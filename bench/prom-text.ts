import type { Bucket } from './stats.ts';

// A reader of the Prometheus text exposition format, enough for the /metrics endpoints the
// benchmarks read: the apiserver's, Prometheus' own and the controllers'.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Label pairs `a="x",b="y\"z"` with the format's escapes (\\, \", \n). */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    while (text[i] === ',' || text[i] === ' ') i += 1;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`metrics line has a malformed label: ${line}`);
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j += 1) {
      if (text[j] === '\\') {
        j += 1;
        value += text[j] === 'n' ? '\n' : (text[j] ?? '');
      } else {
        value += text[j];
      }
    }
    if (j >= text.length) throw new Error(`metrics line has an unterminated label value: ${line}`);
    labels[name] = value;
    i = j + 1;
  }
  return labels;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a metrics line: ${line}`);
    samples.push({
      name: match[1] as string,
      labels: match[2] ? parseLabels(match[2], line) : {},
      value: parseValue(match[3] as string),
    });
  }
  return samples;
}

type LabelFilter = Record<string, string | ((value: string) => boolean)>;

function matches(sample: Sample, filter: LabelFilter): boolean {
  return Object.entries(filter).every(([key, want]) => {
    const have = sample.labels[key] ?? '';
    return typeof want === 'function' ? want(have) : have === want;
  });
}

/** The sum of every series of `name` whose labels match `filter`. */
export function sumOf(samples: readonly Sample[], name: string, filter: LabelFilter = {}): number {
  let sum = 0;
  for (const sample of samples) if (sample.name === name && matches(sample, filter)) sum += sample.value;
  return sum;
}

/** Sums of `name` grouped by one label. */
export function sumBy(
  samples: readonly Sample[],
  name: string,
  label: string,
  filter: LabelFilter = {},
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name || !matches(sample, filter)) continue;
    const key = sample.labels[label] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + sample.value);
  }
  return sums;
}

/** The cumulative buckets of histogram `name` (its `_bucket` series), summed over matching series. */
export function histogramBuckets(
  samples: readonly Sample[],
  name: string,
  filter: LabelFilter = {},
): Bucket[] {
  const byLe = sumBy(samples, `${name}_bucket`, 'le', filter);
  return [...byLe].map(([le, count]) => ({ le: parseValue(le), count })).sort((a, b) => a.le - b.le);
}
