import type {
  Access,
  CanaryDetail,
  CanarySummary,
  DashboardCommand,
  DashboardConfig,
  StreamMessage,
} from '../../src/dashboard/api.ts';

// Talks to the dashboard's JSON API and its live stream. The token (controller's
// dashboard only) stays in this tab's sessionStorage and travels as a bearer token.

const TOKEN_KEY = 'sluice.dashboard.token';

export function storedToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function storeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token lives for this page only.
  }
}

function headers(): Record<string, string> {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json', ...headers() } });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${path} answered ${response.status}`);
  return body;
}

const canaryPath = (namespace: string, name: string) =>
  `/api/canaries/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

export const api = {
  config: () => getJson<DashboardConfig>('/api/config'),
  list: () => getJson<{ items: CanarySummary[] }>('/api/canaries').then((r) => r.items),
  detail: (namespace: string, name: string) => getJson<CanaryDetail>(canaryPath(namespace, name)),
  access: (namespace: string, name: string) => getJson<Access>(`${canaryPath(namespace, name)}/access`),
  async command(namespace: string, name: string, command: DashboardCommand): Promise<string> {
    const response = await fetch(`${canaryPath(namespace, name)}/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers() },
      body: '{}',
    });
    const body = (await response.json().catch(() => ({}))) as { message?: string; error?: string };
    if (!response.ok) throw new Error(body.error ?? `${command} answered ${response.status}`);
    return body.message ?? `${command} requested`;
  },
};

export type StreamState = 'connecting' | 'live' | 'reconnecting';

/** Follows `/api/stream`; the browser reconnects by itself after a drop. */
export function follow(
  onMessage: (message: StreamMessage) => void,
  onState: (state: StreamState) => void,
): () => void {
  const source = new EventSource('/api/stream');
  onState('connecting');
  source.onopen = () => onState('live');
  source.onerror = () => onState('reconnecting');
  source.onmessage = (event: MessageEvent<string>) => {
    try {
      onMessage(JSON.parse(event.data) as StreamMessage);
    } catch {
      // A malformed message is skipped; the next one carries the full state again.
    }
  };
  return () => source.close();
}
