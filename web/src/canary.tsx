import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  Access,
  CanaryDetail,
  DashboardCommand,
  DashboardConfig,
  StreamMessage,
} from '../../src/dashboard/api.ts';
import { MetricChart, WeightChart } from './charts.tsx';
import { api } from './client.ts';
import { age, clock, formatNumber, shortRevision } from './format.ts';
import { ColumnHeads, Link, PhaseBadge, stepText, WeightBar } from './shared.tsx';

const BUTTONS: { command: DashboardCommand; label: string; help: string; confirm?: string }[] = [
  {
    command: 'promote',
    label: 'Promote',
    help: 'skip the remaining steps and promote now',
    confirm: 'Promote this canary now, skipping the remaining steps?',
  },
  { command: 'abort', label: 'Abort', help: 'roll back now', confirm: 'Roll this canary back now?' },
  { command: 'pause', label: 'Pause', help: 'hold at the current step; checks go on' },
  { command: 'resume', label: 'Resume', help: 'continue a paused canary' },
  { command: 'retry', label: 'Retry', help: 'run the analysis of a failed canary again' },
];

function Buttons(props: { detail: CanaryDetail; config: DashboardConfig; token: string }) {
  const { namespace, name } = props.detail.summary;
  const [access, setAccess] = useState<Access | null>(null);
  const [confirming, setConfirming] = useState<DashboardCommand | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    api.access(namespace, name).then(
      (a) => live && setAccess(a),
      (error: Error) => live && setAccess({ allowed: false, reason: error.message }),
    );
    return () => {
      live = false;
    };
  }, [namespace, name, props.token]);
  if (props.config.readOnly) return null;
  const run = async (command: DashboardCommand) => {
    setConfirming(null);
    setBusy(true);
    try {
      setResult({ ok: true, text: await api.command(namespace, name, command) });
    } catch (error) {
      setResult({ ok: false, text: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const disabled = busy || !access?.allowed;
  const asking = BUTTONS.find((b) => b.command === confirming);
  return (
    <section class="actions" aria-labelledby="actions-title">
      <h2 id="actions-title" class="sr-only">
        Commands
      </h2>
      <div class="buttons" role="group" aria-label="commands">
        {BUTTONS.map((b) => (
          <button
            type="button"
            class={`btn btn-${b.command}`}
            disabled={disabled}
            aria-describedby={access && !access.allowed ? 'why-disabled' : undefined}
            title={b.help}
            onClick={() => (b.confirm ? setConfirming(b.command) : void run(b.command))}
          >
            {b.label}
          </button>
        ))}
      </div>
      {access && !access.allowed ? (
        <p id="why-disabled" class="why">
          Buttons unavailable: {access.reason}
        </p>
      ) : access?.user ? (
        <p class="who">Acting as {access.user}.</p>
      ) : null}
      {asking ? (
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">{asking.confirm}</p>
          <button
            type="button"
            class={`btn btn-${asking.command}`}
            autoFocus
            onClick={() => void run(asking.command)}
          >
            Yes, {asking.command}
          </button>{' '}
          <button type="button" class="btn" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      <p class={`result ${result?.ok === false ? 'bad-text' : ''}`} role="status" aria-live="polite">
        {result?.text ?? ''}
      </p>
    </section>
  );
}

/** `/canaries/<ns>/<name>`: one canary, live. */
export function CanaryPage(props: {
  namespace: string;
  name: string;
  config: DashboardConfig;
  now: number;
  token: string;
  subscribe: (listener: (message: StreamMessage) => void) => () => void;
}) {
  const { namespace, name } = props;
  const key = `${namespace}/${name}`;
  const [detail, setDetail] = useState<CanaryDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loading = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  useEffect(() => {
    let live = true;
    const load = () => {
      // One request at a time; changes during it cost one more, not one each.
      if (loading.current) {
        again.current = true;
        return;
      }
      loading.current = api
        .detail(namespace, name)
        .then(
          (d) => {
            if (!live) return;
            setDetail(d);
            setError(null);
          },
          (e: Error) => {
            if (live) setError(e.message);
          },
        )
        .finally(() => {
          loading.current = null;
          if (again.current && live) {
            again.current = false;
            load();
          }
        });
    };
    load();
    const unsubscribe = props.subscribe((message) => {
      const about = message.type === 'canary' ? message.summary.key : message.key;
      if (about === key) load();
    });
    return () => {
      live = false;
      unsubscribe();
    };
  }, [key]);

  if (!detail) {
    return (
      <main id="main">
        <p>
          <Link href="/">← all canaries</Link>
        </p>
        <p role={error ? 'alert' : 'status'}>{error ?? `Loading ${key}…`}</p>
      </main>
    );
  }
  const s = detail.summary;
  // One time axis for every chart: from the first thing seen to now (at least 10 minutes).
  const firstSeen = Math.min(
    detail.weights[0]?.at ?? props.now,
    ...Object.values(detail.metrics).map((points) => points[0]?.at ?? props.now),
  );
  const range: [number, number] = [Math.min(firstSeen, props.now - 10 * 60_000), props.now];
  const metricNames = [...new Set([...detail.analysis.map((a) => a.name), ...Object.keys(detail.metrics)])];
  return (
    <main id="main" data-canary={key}>
      <p>
        <Link href="/">← all canaries</Link>
      </p>
      <header class="canary-head">
        <h1>
          <span class="ns">{s.namespace}/</span>
          {s.name}
        </h1>
        <PhaseBadge phase={s.phase} />
        {s.paused ? <span class="tag">paused</span> : null}
        {s.suspended ? <span class="tag">suspended</span> : null}
        {s.waitingFor ? <span class="tag">waiting: {s.waitingFor}</span> : null}
      </header>
      {error ? (
        <p class="bad-text" role="alert">
          {error}
        </p>
      ) : null}
      <p class="message" data-testid="message">
        {s.message}
      </p>
      <dl class="facts">
        <div>
          <dt>Weight</dt>
          <dd>
            <WeightBar weight={s.weight} maxWeight={s.maxWeight} />
          </dd>
        </div>
        <div>
          <dt>Step</dt>
          <dd>{stepText(s)}</dd>
        </div>
        <div>
          <dt>Failed checks</dt>
          <dd class={s.failedChecks ? 'bad-text' : ''}>
            {s.failedChecks}/{s.threshold}
          </dd>
        </div>
        <div>
          <dt>Target</dt>
          <dd>
            {s.target} ({s.strategy}
            {s.provider ? `, ${s.provider}` : ''}, every {detail.interval})
          </dd>
        </div>
        <div>
          <dt>Revision</dt>
          <dd>
            <code title={detail.revisions.canary ?? ''}>{shortRevision(detail.revisions.canary)}</code> canary
            · <code title={detail.revisions.primary ?? ''}>{shortRevision(detail.revisions.primary)}</code>{' '}
            primary
          </dd>
        </div>
        <div>
          <dt>Last transition</dt>
          <dd>{s.lastTransitionTime ? `${age(s.lastTransitionTime, props.now)} ago` : '–'}</dd>
        </div>
        {detail.lastCommand ? (
          <div>
            <dt>Last command</dt>
            <dd>
              {detail.lastCommand.command} ({detail.lastCommand.result ?? 'handled'},{' '}
              {age(detail.lastCommand.handledAt, props.now)} ago)
            </dd>
          </div>
        ) : null}
      </dl>
      <Buttons detail={detail} config={props.config} token={props.token} />
      <section aria-labelledby="weight-title">
        <h2 id="weight-title">Traffic weight</h2>
        <WeightChart
          points={detail.weights}
          stepWeights={s.stepWeights}
          maxWeight={s.maxWeight}
          now={props.now}
          range={range}
        />
      </section>
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics</h2>
        {detail.analysis.length ? (
          <table class="analysis">
            <ColumnHeads columns={['Metric', 'Result', 'Value', 'Limit', 'Detail']} />
            <tbody>
              {detail.analysis.map((a) => (
                <tr data-metric={a.name}>
                  <th scope="row">
                    {a.name}
                    {a.dryRun ? ' (dry run)' : ''}
                  </th>
                  <td class={a.passed ? 'ok-text' : 'bad-text'}>
                    <span aria-hidden="true">{a.passed ? '✔ ' : a.inconclusive ? '? ' : '✖ '}</span>
                    {a.passed ? 'passed' : a.inconclusive ? 'inconclusive' : 'failed'}
                  </td>
                  <td>
                    {a.canary !== undefined && a.primary !== undefined
                      ? `canary ${formatNumber(a.canary)} / primary ${formatNumber(a.primary)}`
                      : formatNumber(a.value)}
                  </td>
                  <td>{a.threshold ?? ''}</td>
                  <td>
                    {[
                      a.reason,
                      a.effect !== undefined ? `effect ${formatNumber(a.effect)}` : undefined,
                      a.interval
                        ? `interval ${formatNumber(a.interval[0])} … ${formatNumber(a.interval[1])}`
                        : undefined,
                      a.evidence,
                      ...Object.entries(a.extra).map(([k, v]) => `${k}: ${v}`),
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No metric checks yet.</p>
        )}
        <div class="metric-charts">
          {metricNames.map((metric) => (
            <MetricChart
              name={metric}
              points={detail.metrics[metric] ?? []}
              limit={detail.limits[metric]}
              range={range}
            />
          ))}
        </div>
      </section>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {detail.timeline.length === 0 ? (
          <p>Nothing yet.</p>
        ) : (
          <ol class="timeline" reversed>
            {[...detail.timeline].reverse().map((t) => (
              <li class={`kind-${t.kind} ${t.type === 'Warning' ? 'warning' : ''}`} data-reason={t.reason}>
                <time dateTime={t.at}>{clock(t.at)}</time>
                <span class="kind">{t.kind}</span>
                <span class="text">
                  {t.type === 'Warning' ? <span aria-hidden="true">⚠ </span> : null}
                  <strong>{t.reason}</strong> {t.message}
                  {t.count > 1 ? ` (×${t.count})` : ''}
                  {t.by ? <span class="by"> — by {t.by}</span> : null}
                </span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </main>
  );
}
