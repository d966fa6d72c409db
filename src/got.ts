import type { Got } from 'got';

let loading: Promise<Got> | undefined;

/**
 * got, imported at its first request: every use is an HTTP call and async anyway, and a
 * controller that has not yet called a webhook, a notifier or an HTTP metric provider
 * does not carry its modules (about 8 MB of resident memory at start-up, docs/performance.md).
 */
export function loadGot(): Promise<Got> {
  loading ??= import('got').then((module) => module.default);
  return loading;
}
