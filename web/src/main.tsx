import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CanarySummary, DashboardConfig, StreamMessage } from '../../src/dashboard/api.ts';
import { CanaryPage } from './canary.tsx';
import { api, follow, storedToken, storeToken, type StreamState } from './client.ts';
import { ListPage } from './list.tsx';
import { Link } from './shared.tsx';
import './style.css';

function route(path: string): { page: 'list' } | { page: 'canary'; namespace: string; name: string } {
  const match = /^\/canaries\/([^/]+)\/([^/]+)\/?$/.exec(path);
  if (!match) return { page: 'list' };
  try {
    return { page: 'canary', namespace: decodeURIComponent(match[1]!), name: decodeURIComponent(match[2]!) };
  } catch {
    return { page: 'list' };
  }
}

function SignIn(props: { token: string; onToken: (token: string) => void }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  if (props.token) {
    return (
      <button type="button" class="btn small" onClick={() => props.onToken('')}>
        Sign out
      </button>
    );
  }
  return open ? (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        props.onToken(value.trim());
        setValue('');
        setOpen(false);
      }}
    >
      <label>
        Kubernetes token{' '}
        <input
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
        />
      </label>{' '}
      <button type="submit" class="btn small">
        Use
      </button>
    </form>
  ) : (
    <button type="button" class="btn small" onClick={() => setOpen(true)}>
      Sign in
    </button>
  );
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const [search, setSearch] = useState(location.search);
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const [canaries, setCanaries] = useState(new Map<string, CanarySummary>());
  const [state, setState] = useState<StreamState>('connecting');
  const [now, setNow] = useState(Date.now());
  const [token, setToken] = useState(storedToken());
  const [error, setError] = useState<string | null>(null);
  const listeners = useRef(new Set<(message: StreamMessage) => void>());

  useEffect(() => {
    const onPop = () => {
      setPath(location.pathname);
      setSearch(location.search);
    };
    addEventListener('popstate', onPop);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    api.config().then(setConfig, (e: Error) => setError(e.message));
    const reload = () =>
      api.list().then(
        (items) => setCanaries(new Map(items.map((c) => [c.key, c]))),
        (e: Error) => setError(e.message),
      );
    const stop = follow(
      (message) => {
        if (message.type === 'canary')
          setCanaries((m) => new Map(m).set(message.summary.key, message.summary));
        if (message.type === 'removed')
          setCanaries((m) => {
            const next = new Map(m);
            next.delete(message.key);
            return next;
          });
        for (const listener of listeners.current) listener(message);
      },
      (next) => {
        setState(next);
        // After a drop, updates may have been missed: read the list again.
        if (next === 'live') void reload();
      },
    );
    return () => {
      removeEventListener('popstate', onPop);
      clearInterval(tick);
      stop();
    };
  }, []);

  const here = route(path);
  useEffect(() => {
    document.title = here.page === 'canary' ? `${here.name} · Sluice` : 'Sluice canaries';
  }, [path]);
  const subscribe = (listener: (message: StreamMessage) => void) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Sluice
        </Link>
        <span class={`live live-${state}`} role="status">
          <span aria-hidden="true">{state === 'live' ? '●' : '○'}</span> {state === 'live' ? 'live' : state}
        </span>
        {config?.readOnly ? <span class="tag">read-only</span> : null}
        {config?.auth === 'token' && !config.readOnly ? (
          <SignIn
            token={token}
            onToken={(t) => {
              storeToken(t);
              setToken(t);
            }}
          />
        ) : null}
      </header>
      {error ? (
        <p class="bad-text banner" role="alert">
          {error}
        </p>
      ) : null}
      {here.page === 'canary' && config ? (
        <CanaryPage
          key={`${here.namespace}/${here.name}`}
          namespace={here.namespace}
          name={here.name}
          config={config}
          now={now}
          token={token}
          subscribe={subscribe}
        />
      ) : (
        <ListPage canaries={canaries} now={now} query={new URLSearchParams(search)} />
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
