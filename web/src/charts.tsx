import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricLimit, MetricPoint, WeightPoint } from '../../src/dashboard/api.ts';
import { formatNumber } from './format.ts';

// Charts drawn by uPlot (small, maintained, canvas). Colours are Okabe–Ito, which
// colour-blind readers tell apart; every line also differs by dash or marker, and each
// chart has a caption in words.

export const COLOURS = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  green: '#009E73',
  sky: '#56B4E9',
  purple: '#CC79A7',
};

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function axes(yLabel: string): uPlot.Axis[] {
  const stroke = cssVar('--fg-muted', '#555');
  const grid = { stroke: cssVar('--grid', '#ddd'), width: 1 };
  return [
    { stroke, grid, ticks: grid },
    { stroke, grid, ticks: grid, label: yLabel, size: 56 },
  ];
}

/** A uPlot instance that follows its container's width and is rebuilt when `key` changes. */
function useChart(
  build: (width: number) => { options: Omit<uPlot.Options, 'width'>; data: uPlot.AlignedData },
  deps: unknown[],
  range: [number, number],
) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(280, element.clientWidth);
    const { options, data } = build(width);
    plot.current?.destroy();
    plot.current = new uPlot({ ...options, width } as uPlot.Options, data, element);
    const observer = new ResizeObserver(() => {
      const next = Math.max(280, element.clientWidth);
      if (plot.current && Math.abs(plot.current.width - next) > 4)
        plot.current.setSize({ width: next, height: plot.current.height });
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, deps);
  // The time axis follows the clock without rebuilding the chart.
  useEffect(() => {
    plot.current?.setScale('x', { min: range[0] / 1000, max: range[1] / 1000 });
  }, [range[0], range[1]]);
  useEffect(() => () => plot.current?.destroy(), []);
  return box;
}

/** Draws a dashed horizontal line with a label at each value (the planned steps, a limit). */
function guides(lines: { value: number; label: string; colour: string }[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.lineWidth = devicePixelRatio;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = 'left';
          for (const line of lines) {
            const y = u.valToPos(line.value, 'y', true);
            if (y < top - 1 || y > top + height + 1) continue;
            ctx.strokeStyle = line.colour;
            ctx.fillStyle = line.colour;
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.fillText(line.label, left + 4 * devicePixelRatio, y - 3 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Traffic weight over time, stepped, the planned steps marked; extends to now. */
export function WeightChart(props: {
  points: WeightPoint[];
  stepWeights: number[];
  maxWeight: number;
  now: number;
  /** The time axis, in ms: the same for every chart of the page. */
  range: [number, number];
}) {
  const { points, stepWeights, now, range } = props;
  // The last weight holds until now: a point a day ahead, clipped by the time axis.
  const shown = points.length
    ? [...points, { at: Math.max(now, points.at(-1)!.at) + 86_400_000, weight: points.at(-1)!.weight }]
    : [];
  const box = useChart(
    () => ({
      options: {
        height: 220,
        scales: { x: { time: true, range: [range[0] / 1000, range[1] / 1000] }, y: { range: [0, 100] } },
        axes: axes('canary %'),
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        series: [
          {},
          {
            label: 'canary weight',
            stroke: COLOURS.blue,
            width: 2,
            fill: 'rgba(0,114,178,0.12)',
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: true, size: 7, stroke: COLOURS.blue, fill: COLOURS.blue },
          },
        ],
        plugins: [
          guides(
            stepWeights.map((weight, i) => ({
              value: weight,
              label: `step ${i + 1} · ${weight}%`,
              colour: cssVar('--fg-muted', '#555'),
            })),
          ),
        ],
      },
      data: [shown.map((p) => p.at / 1000), shown.map((p) => p.weight)],
    }),
    [JSON.stringify(points), stepWeights.join(',')],
    range,
  );
  const last = points.at(-1);
  const caption = last
    ? `Canary weight now ${last.weight}% (${points.length} change${points.length === 1 ? '' : 's'} shown; steps at ${stepWeights.join(', ') || 'none'}%).`
    : 'No weight seen yet.';
  return (
    <figure class="chart" aria-label="traffic weight over time">
      <div
        ref={box}
        class="plot"
        role="img"
        aria-label={caption}
        data-points={String(points.length)}
        data-weight={String(last?.weight ?? '')}
      />
      <figcaption>{caption}</figcaption>
    </figure>
  );
}

/** One metric: its value against its limit; for the judge, canary against primary with the interval. */
export function MetricChart(props: {
  name: string;
  points: MetricPoint[];
  limit: MetricLimit | undefined;
  range: [number, number];
}) {
  const { name, points, limit, range } = props;
  const judged = points.some((p) => p.canary !== undefined && p.primary !== undefined);
  const banded = points.some((p) => p.low !== undefined && p.high !== undefined);
  const box = useChart(
    () => {
      const x = points.map((p) => p.at / 1000);
      const series: uPlot.Series[] = [{}];
      const data: (number | null)[][] = [];
      if (judged) {
        series.push(
          { label: 'canary', stroke: COLOURS.blue, width: 2, points: { show: true, size: 6 } },
          {
            label: 'primary',
            stroke: COLOURS.orange,
            width: 2,
            dash: [8, 4],
            points: { show: true, size: 6 },
          },
        );
        data.push(
          points.map((p) => p.canary ?? null),
          points.map((p) => p.primary ?? null),
        );
      } else {
        series.push({ label: name, stroke: COLOURS.blue, width: 2, points: { show: true, size: 6 } });
        data.push(points.map((p) => p.value));
      }
      const bands: uPlot.Band[] = [];
      if (banded) {
        const base = series.length;
        series.push(
          { label: 'interval low', stroke: COLOURS.sky, width: 1, dash: [2, 3] },
          { label: 'interval high', stroke: COLOURS.sky, width: 1, dash: [2, 3] },
        );
        data.push(
          points.map((p) => p.low ?? null),
          points.map((p) => p.high ?? null),
        );
        bands.push({ series: [base + 1, base], fill: 'rgba(86,180,233,0.18)' });
      }
      const lines: { value: number; label: string; colour: string }[] = [];
      if (limit?.min !== undefined)
        lines.push({ value: limit.min, label: `min ${formatNumber(limit.min)}`, colour: COLOURS.vermillion });
      if (limit?.max !== undefined)
        lines.push({ value: limit.max, label: `max ${formatNumber(limit.max)}`, colour: COLOURS.vermillion });
      const values = [...data.flat(), ...lines.map((l) => l.value)].filter(
        (v): v is number => typeof v === 'number',
      );
      const lo = values.length ? Math.min(...values) : 0;
      const hi = values.length ? Math.max(...values) : 1;
      const pad = (hi - lo || Math.abs(hi) || 1) * 0.15;
      return {
        options: {
          height: 180,
          scales: { x: { time: true }, y: { range: [lo - pad, hi + pad] } },
          axes: axes(''),
          legend: { show: judged || banded },
          cursor: { drag: { x: false, y: false } },
          series,
          bands,
          plugins: [guides(lines)],
        },
        data: [x, ...data] as uPlot.AlignedData,
      };
    },
    [JSON.stringify(points), JSON.stringify(limit ?? {})],
    range,
  );
  const last = points.at(-1);
  const against = limit
    ? ` against ${[limit.min !== undefined ? `min ${formatNumber(limit.min)}` : '', limit.max !== undefined ? `max ${formatNumber(limit.max)}` : ''].filter(Boolean).join(', ')}`
    : '';
  const caption = last
    ? judged
      ? `${name}: canary ${formatNumber(last.canary)} vs primary ${formatNumber(last.primary)}${last.low !== undefined ? `, interval ${formatNumber(last.low)} … ${formatNumber(last.high)}` : ''}.`
      : `${name}: last ${formatNumber(last.value)}${against}.`
    : `${name}: no checks seen yet.`;
  return (
    <figure class="chart">
      <div ref={box} class="plot" role="img" aria-label={caption} />
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
