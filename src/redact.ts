// Secrets never reach a log line, an Event, a status message or a notification: every text
// that may carry what a server answered (error bodies echo headers and URLs back) is passed
// through redact() with the secrets of the call that produced it.

const MIN_LENGTH = 4;
const CENSOR = '[redacted]';

/**
 * The forms a secret travels in over HTTP: as is, base64 (basic auth, Secret data),
 * percent-encoded and JSON-escaped; for a URL also its path, query, each query value and
 * the password and `user:password` of its userinfo.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret)]);
  forms.add(JSON.stringify(secret).slice(1, -1));
  try {
    const url = new URL(secret);
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      forms.add(url.href);
      forms.add(`${url.origin}${url.pathname}`);
      if (url.pathname !== '/') forms.add(url.pathname);
      if (url.search) forms.add(url.search);
      for (const value of url.searchParams.values()) {
        forms.add(value);
        forms.add(encodeURIComponent(value));
      }
      if (url.password) {
        const password = decodeURIComponent(url.password);
        forms.add(url.password);
        forms.add(password);
        forms.add(Buffer.from(`${decodeURIComponent(url.username)}:${password}`).toString('base64'));
      }
    }
  } catch {
    // not a URL
  }
  return [...forms].filter((form) => form.length >= MIN_LENGTH);
}

/** `user:password` as a basic auth header carries it. */
export function basicAuthForm(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** Replaces every form of every secret in a text; longest first, so no part of one survives. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  const forms = [...new Set(secrets.flatMap((secret) => (secret ? secretForms(secret) : [])))].sort(
    (a, b) => b.length - a.length,
  );
  let out = text;
  for (const form of forms) out = out.split(form).join(CENSOR);
  return out;
}
