import type { HTTPMatchRequest, StringMatch } from '../api/canary.ts';
import type { JsonObject } from '../kube/kinds.ts';

// Request matches are written in Istio's terms (Flagger's API: spec.service.match and
// spec.analysis.match). Istio takes them as they are; Gateway API gets them translated.

/**
 * A/B matches combined with the Service's own: each A/B condition applies within each of
 * the route's conditions (the cross product), so A/B never widens what the route serves.
 * Header and query conditions add up; any other field of the A/B match wins.
 */
export function mergeMatches(
  analysis: readonly HTTPMatchRequest[],
  service: readonly HTTPMatchRequest[] | undefined,
): HTTPMatchRequest[] {
  if (!service?.length) return analysis.map((match) => structuredClone(match));
  const merged: HTTPMatchRequest[] = [];
  for (const a of analysis) {
    for (const s of service) {
      const combined: HTTPMatchRequest = { ...structuredClone(s), ...structuredClone(a) };
      if (s.headers || a.headers) combined.headers = { ...s.headers, ...a.headers };
      if (s.queryParams || a.queryParams) combined.queryParams = { ...s.queryParams, ...a.queryParams };
      if (s.sourceLabels || a.sourceLabels) combined.sourceLabels = { ...s.sourceLabels, ...a.sourceLabels };
      merged.push(combined);
    }
  }
  return merged;
}

/** Gateway API cannot express this match; names the field and what it holds. */
export class MatchNotSupportedError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MatchNotSupportedError';
    this.field = field;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An Istio StringMatch as Gateway API's (type, value): exact or regular expression. */
function headerValue(match: StringMatch, field: string): { type: string; value: string } {
  if (match.exact !== undefined) return { type: 'Exact', value: match.exact };
  if (match.regex !== undefined) return { type: 'RegularExpression', value: match.regex };
  if (match.prefix !== undefined)
    return { type: 'RegularExpression', value: `^${escapeRegex(match.prefix)}.*` };
  if (match.suffix !== undefined)
    return { type: 'RegularExpression', value: `.*${escapeRegex(match.suffix)}$` };
  throw new MatchNotSupportedError(field, 'needs one of exact, prefix, suffix or regex');
}

/** Istio matches as Gateway API HTTPRouteMatches; `field` names where they came from in errors. */
export function gatewayMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): JsonObject[] {
  const result: JsonObject[] = [];
  (matches ?? []).forEach((match, i) => {
    const at = `${field}[${i}]`;
    const converted: JsonObject = {};
    if (match.uri) {
      if (match.uri.exact !== undefined) converted.path = { type: 'Exact', value: match.uri.exact };
      else if (match.uri.prefix !== undefined)
        converted.path = { type: 'PathPrefix', value: match.uri.prefix };
      else if (match.uri.regex !== undefined)
        converted.path = { type: 'RegularExpression', value: match.uri.regex };
      else
        throw new MatchNotSupportedError(
          `${at}.uri`,
          'Gateway API matches a path by exact, prefix or regex only',
        );
    }
    if (match.method) {
      if (match.method.exact === undefined) {
        throw new MatchNotSupportedError(`${at}.method`, 'Gateway API matches a method exactly only');
      }
      converted.method = match.method.exact;
    }
    const headers = Object.entries(match.headers ?? {}).map(([name, value]) => ({
      name,
      ...headerValue(value, `${at}.headers.${name}`),
    }));
    if (headers.length) converted.headers = headers;
    const queryParams = Object.entries(match.queryParams ?? {}).map(([name, value]) => {
      const converted = headerValue(value, `${at}.queryParams.${name}`);
      return { name, ...converted };
    });
    if (queryParams.length) converted.queryParams = queryParams;
    for (const unsupported of ['scheme', 'authority', 'withoutHeaders', 'sourceLabels'] as const) {
      if (match[unsupported] !== undefined) {
        throw new MatchNotSupportedError(`${at}.${unsupported}`, 'has no Gateway API equivalent');
      }
    }
    if (Object.keys(converted).length) result.push(converted);
  });
  return result;
}

/** Gateway API's analogue of mergeMatches, on converted matches. */
export function mergeGatewayMatches(
  analysis: readonly JsonObject[],
  service: readonly JsonObject[],
): JsonObject[] {
  if (!service.length) return analysis.map((match) => structuredClone(match));
  if (!analysis.length) return service.map((match) => structuredClone(match));
  const merged: JsonObject[] = [];
  for (const a of analysis) {
    for (const s of service) {
      const combined: JsonObject = { ...structuredClone(s), ...structuredClone(a) };
      for (const list of ['headers', 'queryParams'] as const) {
        // Names are list keys: an A/B condition on a header replaces the route's on the same header.
        const byName = new Map<unknown, JsonObject>();
        for (const item of [
          ...((s[list] as JsonObject[] | undefined) ?? []),
          ...((a[list] as JsonObject[] | undefined) ?? []),
        ]) {
          byName.set(String(item.name).toLowerCase(), item);
        }
        if (byName.size) combined[list] = [...byName.values()];
      }
      merged.push(combined);
    }
  }
  return merged;
}
