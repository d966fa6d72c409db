import { useMemo } from 'preact/hooks';
import type { CanarySummary } from '../../src/dashboard/api.ts';
import { filterSummaries } from '../../src/dashboard/order.ts';
import { age, PHASES } from './format.ts';
import { canaryHref, ColumnHeads, Link, navigate, PhaseBadge, stepText, WeightBar } from './shared.tsx';

function Filter(props: {
  label: string;
  name: string;
  value: string;
  choices: readonly string[];
  onChange: (name: string, value: string) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        value={props.value}
        name={props.name}
        onChange={(e) => props.onChange(props.name, (e.currentTarget as HTMLSelectElement).value)}
      >
        <option value="">all</option>
        {props.choices.map((choice) => (
          <option value={choice}>{choice}</option>
        ))}
      </select>
    </label>
  );
}

/** `/`: every canary, failing first, live. */
export function ListPage(props: {
  canaries: Map<string, CanarySummary>;
  now: number;
  query: URLSearchParams;
}) {
  const namespace = props.query.get('namespace') ?? '';
  const phase = props.query.get('phase') ?? '';
  const all = [...props.canaries.values()];
  const namespaces = useMemo(
    () => [...new Set(all.map((c) => c.namespace))].sort(),
    [all.map((c) => c.namespace).join()],
  );
  const shown = filterSummaries(all, { namespace: namespace || undefined, phase: phase || undefined });
  const failing = shown.filter((c) => c.failing).length;
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(props.query);
    if (value) next.set(key, value);
    else next.delete(key);
    const search = next.toString();
    navigate(`/${search ? `?${search}` : ''}`);
  };
  return (
    <main id="main">
      <div class="toolbar" role="search">
        <Filter
          label="Namespace"
          name="namespace"
          value={namespace}
          choices={namespaces}
          onChange={setFilter}
        />
        <Filter label="Phase" name="phase" value={phase} choices={PHASES} onChange={setFilter} />
        <p class="count" aria-live="polite">
          {shown.length} canar{shown.length === 1 ? 'y' : 'ies'}
          {failing ? `, ${failing} failing` : ''}
        </p>
      </div>
      {shown.length === 0 ? (
        <p class="empty">No canaries{namespace || phase ? ' match these filters' : ' yet'}.</p>
      ) : (
        <table class="canaries">
          <caption class="sr-only">Canaries, failing first</caption>
          <ColumnHeads
            columns={[
              'Canary',
              'Phase',
              'Weight',
              'Step',
              'Failed checks',
              'Last transition',
              'Verdict / message',
            ]}
          />
          <tbody>
            {shown.map((c) => (
              <tr key={c.key} class={c.failing ? 'failing' : ''} data-canary={c.key}>
                <th scope="row" data-label="Canary">
                  <Link href={canaryHref(c)}>
                    <span class="ns">{c.namespace}/</span>
                    <span class="name">{c.name}</span>
                  </Link>
                </th>
                <td data-label="Phase">
                  <PhaseBadge phase={c.phase} />
                  {c.paused ? <span class="tag">paused</span> : null}
                  {c.waitingFor ? <span class="tag">waiting: {c.waitingFor}</span> : null}
                </td>
                <td data-label="Weight">
                  <WeightBar weight={c.weight} maxWeight={c.maxWeight} />
                </td>
                <td data-label="Step">{stepText(c)}</td>
                <td data-label="Failed checks" class={c.failedChecks > 0 ? 'bad-text' : ''}>
                  {c.failedChecks}/{c.threshold}
                </td>
                <td data-label="Last transition">
                  {c.lastTransitionTime ? (
                    <time dateTime={c.lastTransitionTime}>{age(c.lastTransitionTime, props.now)} ago</time>
                  ) : (
                    '–'
                  )}
                </td>
                <td data-label="Verdict / message" class="message">
                  {c.verdict ? (
                    <span class={`verdict ${c.verdict.passed ? 'ok-text' : 'bad-text'}`}>
                      <span aria-hidden="true">{c.verdict.passed ? '✔ ' : '✖ '}</span>
                      {c.verdict.text}
                    </span>
                  ) : null}
                  <span>{c.message}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
