import type { HTTPMatchRequest, StringMatch } from '../api/canary.ts';
import { FieldMessageError, type ValidationIssue } from '../api/validate.ts';
import type { JsonObject } from '../kube/kinds.ts';

// Request matches are written in Istio's terms (Flagger's API: spec.service.match and
// spec.analysis.match). Each router either expresses a match whole or refuses it, naming
// the field: nothing is ever dropped, since a dropped condition widens what reaches the
// canary (an HTTPRoute match with no conditions matches every request). The functions
// here return the issues, so the capability check (capabilities.ts) refuses a spec before
// anything is written, and the routers throw the same issues if one still gets through.

/** One condition a router cannot express: the field and what it can do instead. */
export type MatchIssue = ValidationIssue;

/** A router cannot express this match; names the field and what it holds. */
export class MatchNotSupportedError extends FieldMessageError {}

/** Throws the first issue; what routers do when a match the check should have refused reaches them. */
export function throwFirst<T>(result: { issues: readonly MatchIssue[] } & T): T {
  const issue = result.issues[0];
  if (issue) throw new MatchNotSupportedError(issue.path, issue.message);
  return result;
}

const STRING_MATCH_KINDS = ['exact', 'prefix', 'suffix', 'regex'] as const;
type StringMatchKind = (typeof STRING_MATCH_KINDS)[number];

/** The one kind and value of a StringMatch, or an issue when it has none, several or one not allowed. */
function readStringMatch(
  match: StringMatch,
  at: string,
  allowed: readonly StringMatchKind[],
  who: string,
  issues: MatchIssue[],
): { kind: StringMatchKind; value: string } | undefined {
  const unknown = Object.keys(match).filter(
    (key) => !(STRING_MATCH_KINDS as readonly string[]).includes(key),
  );
  if (unknown.length) {
    issues.push({ path: `${at}.${unknown[0]}`, message: 'is not a field of a string match' });
    return undefined;
  }
  const set = STRING_MATCH_KINDS.filter((kind) => match[kind] !== undefined);
  if (set.length !== 1) {
    issues.push({
      path: at,
      message: `needs exactly one of ${allowed.join(', ')}${set.length ? ` (got ${set.join(' and ')})` : ''}`,
    });
    return undefined;
  }
  const kind = set[0]!;
  if (!allowed.includes(kind)) {
    issues.push({ path: `${at}.${kind}`, message: `${who} can match here by ${allowed.join(', ')} only` });
    return undefined;
  }
  return { kind, value: match[kind]! };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A string match as one regular expression over the whole value (RE2, full match). */
function asRegex(kind: StringMatchKind, value: string): string {
  switch (kind) {
    case 'exact':
      return escapeRegex(value);
    case 'prefix':
      return `${escapeRegex(value)}.*`;
    case 'suffix':
      return `.*${escapeRegex(value)}`;
    case 'regex':
      return value;
  }
}

const entries = <T>(map: Record<string, T> | undefined): [string, T][] => Object.entries(map ?? {});

// ---- Istio ------------------------------------------------------------------------------

/** The fields of Istio's HTTPMatchRequest (networking.istio.io/v1). */
const ISTIO_MATCH_FIELDS = new Set([
  'name',
  'uri',
  'scheme',
  'method',
  'authority',
  'headers',
  'queryParams',
  'withoutHeaders',
  'sourceLabels',
  'ignoreUriCase',
  'port',
  'gateways',
  'sourceNamespace',
  'statPrefix',
]);
/** Istio's StringMatch is exact, prefix or regex; query parameters take exact or regex. */
const ISTIO_STRING: readonly StringMatchKind[] = ['exact', 'prefix', 'regex'];
const ISTIO_QUERY: readonly StringMatchKind[] = ['exact', 'regex'];

/** What Istio cannot take of these matches (they are written to the VirtualService as they are). */
export function istioMatchIssues(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): MatchIssue[] {
  const issues: MatchIssue[] = [];
  (matches ?? []).forEach((match, i) => {
    const at = `${field}[${i}]`;
    for (const key of Object.keys(match)) {
      if (!ISTIO_MATCH_FIELDS.has(key))
        issues.push({ path: `${at}.${key}`, message: 'is not a field of an Istio HTTPMatchRequest' });
    }
    for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
      const value = match[key];
      if (value !== undefined) readStringMatch(value, `${at}.${key}`, ISTIO_STRING, 'Istio', issues);
    }
    for (const key of ['headers', 'withoutHeaders'] as const) {
      for (const [name, value] of entries(match[key]))
        readStringMatch(value, `${at}.${key}.${name}`, ISTIO_STRING, 'Istio', issues);
    }
    for (const [name, value] of entries(match.queryParams))
      readStringMatch(value, `${at}.queryParams.${name}`, ISTIO_QUERY, 'Istio', issues);
  });
  return issues;
}

/** Fields whose conditions add up when two matches are combined (maps of names to conditions). */
const MAP_FIELDS = ['headers', 'queryParams', 'withoutHeaders', 'sourceLabels'] as const;
/** Fields that name the match or its statistics, not a condition: the A/B match's own wins. */
const LABEL_FIELDS = new Set(['name', 'statPrefix']);

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A/B matches combined with the Service's own: each A/B condition applies within each of
 * the route's conditions (the cross product), so A/B never widens what the route serves.
 * Conditions add up; where both constrain the same thing differently (two uri
 * conditions, two conditions on one header) no single match can hold both, and that is an
 * issue naming both fields.
 */
export function combineMatches(
  analysis: readonly HTTPMatchRequest[],
  service: readonly HTTPMatchRequest[] | undefined,
  fields: { analysis: string; service: string } = {
    analysis: 'spec.analysis.match',
    service: 'spec.service.match',
  },
): { matches: HTTPMatchRequest[]; issues: MatchIssue[] } {
  if (!service?.length) return { matches: analysis.map((match) => structuredClone(match)), issues: [] };
  const matches: HTTPMatchRequest[] = [];
  const issues: MatchIssue[] = [];
  analysis.forEach((a, i) => {
    service.forEach((s, j) => {
      const combined: HTTPMatchRequest = structuredClone(s);
      for (const [key, value] of Object.entries(a)) {
        const theirs = (s as Record<string, unknown>)[key];
        if ((MAP_FIELDS as readonly string[]).includes(key)) {
          const merged: Record<string, unknown> = { ...(theirs as Record<string, unknown> | undefined) };
          for (const [name, condition] of Object.entries(value as Record<string, unknown>)) {
            const other = Object.entries(merged).find(([n]) => n.toLowerCase() === name.toLowerCase());
            if (other && !sameJson(other[1], condition)) {
              issues.push({
                path: `${fields.analysis}[${i}].${key}.${name}`,
                message: `conflicts with ${fields.service}[${j}].${key}.${other[0]}: one request match cannot hold two conditions on the same name`,
              });
              continue;
            }
            if (other) delete merged[other[0]];
            merged[name] = structuredClone(condition);
          }
          (combined as Record<string, unknown>)[key] = merged;
        } else if (key === 'ignoreUriCase') {
          continue; // settled below, with the uri it applies to
        } else if (theirs !== undefined && !LABEL_FIELDS.has(key) && !sameJson(theirs, value)) {
          issues.push({
            path: `${fields.analysis}[${i}].${key}`,
            message: `conflicts with ${fields.service}[${j}].${key}: one request match holds one ${key} condition`,
          });
        } else {
          (combined as Record<string, unknown>)[key] = structuredClone(value);
        }
      }
      // ignoreUriCase belongs to a uri condition: the combined match keeps the flag of the
      // side whose uri it carries, and two uris (equal by now) must agree on it.
      const flags = [a, s]
        .filter((side) => side.uri !== undefined)
        .map((side) => side.ignoreUriCase ?? false);
      delete combined.ignoreUriCase;
      if (flags.length === 2 && flags[0] !== flags[1]) {
        issues.push({
          path: `${fields.analysis}[${i}].ignoreUriCase`,
          message: `conflicts with ${fields.service}[${j}].ignoreUriCase: one request match compares its uri one way`,
        });
      } else if (flags[0]) combined.ignoreUriCase = true;
      matches.push(combined);
    });
  });
  return { matches, issues };
}

/** combineMatches for routers: throws the first conflict. */
export function mergeMatches(
  analysis: readonly HTTPMatchRequest[],
  service: readonly HTTPMatchRequest[] | undefined,
): HTTPMatchRequest[] {
  return throwFirst(combineMatches(analysis, service)).matches;
}

// ---- Gateway API ------------------------------------------------------------------------

/** HTTPRouteMatch.method's enum in gateway.networking.k8s.io/v1. */
const GATEWAY_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);
/** Gateway API's limits: matches per rule, headers and query params per match. */
export const GATEWAY_LIMITS = { matches: 64, headers: 16, queryParams: 16 } as const;
/** The match of a rule without conditions: Gateway API's default, every request. */
/** An issue for each field of a match that the provider has no counterpart for. */
function refuseKeys(
  match: HTTPMatchRequest,
  at: string,
  supported: readonly string[],
  why: (key: string) => string,
  issues: MatchIssue[],
): void {
  for (const key of Object.keys(match)) {
    if (!supported.includes(key)) issues.push({ path: `${at}.${key}`, message: why(key) });
  }
}

/**
 * Translates each match, at `field[i]`, after refusing the keys the provider has no
 * counterpart for: the results in order and every issue.
 */
function translateEach<T>(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
  refuse: { supported: (match: HTTPMatchRequest) => readonly string[]; why: (key: string) => string },
  translate: (match: HTTPMatchRequest, at: string, issues: MatchIssue[]) => T,
): { results: T[]; issues: MatchIssue[] } {
  const issues: MatchIssue[] = [];
  const results = (matches ?? []).map((match, i) => {
    const at = `${field}[${i}]`;
    refuseKeys(match, at, refuse.supported(match), refuse.why, issues);
    return translate(match, at, issues);
  });
  return { results, issues };
}

/** Header or query conditions as Gateway API's (HTTPRoute and GRPCRoute): Exact or an anchored regex. */
function gatewayStringMatches(
  values: Record<string, StringMatch> | undefined,
  at: string,
  provider: string,
  issues: MatchIssue[],
): JsonObject[] {
  return entries(values).flatMap(([name, value]) => {
    const read = readStringMatch(value, `${at}.${name}`, STRING_MATCH_KINDS, provider, issues);
    if (!read) return [];
    return read.kind === 'exact'
      ? [{ name, type: 'Exact', value: read.value }]
      : [{ name, type: 'RegularExpression', value: asRegex(read.kind, read.value) }];
  });
}

/** A uri condition as a path (exact, prefix or regex); one that is not a regex starts with /. */
function readPath(uri: StringMatch, at: string, provider: string, issues: MatchIssue[]) {
  const read = readStringMatch(uri, `${at}.uri`, ['exact', 'prefix', 'regex'], `${provider} (path)`, issues);
  if (read && read.kind !== 'regex' && !read.value.startsWith('/')) {
    issues.push({ path: `${at}.uri.${read.kind}`, message: `${provider} needs a path that starts with /` });
    return undefined;
  }
  return read;
}

export const MATCH_EVERYTHING: JsonObject = { path: { type: 'PathPrefix', value: '/' } };

const GATEWAY_WHY: Record<string, string> = {
  scheme: 'Gateway API does not match on the scheme (a listener decides it)',
  authority:
    'Gateway API matches the host through the HTTPRoute’s hostnames (spec.service.hosts), not per match',
  withoutHeaders: 'Gateway API has no negative header match',
  sourceLabels: 'Gateway API does not match on the calling workload',
  sourceNamespace: 'Gateway API does not match on the calling workload’s namespace',
  port: 'Gateway API picks the port through the parent’s listener (spec.service.gatewayRefs[].port), not per match',
  gateways: 'Gateway API picks Gateways through spec.service.gatewayRefs, not per match',
  ignoreUriCase: 'Gateway API matches paths case-sensitively only',
  statPrefix: 'Gateway API has no per-match statistics prefix',
};

/**
 * Istio matches as Gateway API HTTPRouteMatches, with the issues for what Gateway API
 * cannot express. `name` labels a match and matches nothing, so it has no counterpart.
 * A match without conditions is Gateway API's match-everything (path prefix `/`); Istio's
 * `uri.prefix` becomes a PathPrefix, which Gateway API compares by whole path elements
 * (`/api` matches `/api` and `/api/v1`, not `/apiv2`).
 */
export function translateGatewayMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): { matches: JsonObject[]; issues: MatchIssue[] } {
  const refuse = {
    supported: () => ['name', 'uri', 'method', 'headers', 'queryParams'],
    why: (key: string) =>
      `has no Gateway API equivalent: ${GATEWAY_WHY[key] ?? 'not a field Gateway API matches on'}`,
  };
  const { results, issues } = translateEach(matches, field, refuse, (match, at, issues) => {
    const converted: JsonObject = {};
    if (match.uri) {
      const uri = readPath(match.uri, at, 'Gateway API', issues);
      if (uri) {
        const type = { exact: 'Exact', prefix: 'PathPrefix', regex: 'RegularExpression', suffix: '' }[
          uri.kind
        ];
        converted.path = { type, value: uri.value };
      }
    }
    if (match.method) {
      const method = readStringMatch(match.method, `${at}.method`, ['exact'], 'Gateway API (method)', issues);
      if (method && !GATEWAY_METHODS.has(method.value)) {
        issues.push({
          path: `${at}.method.exact`,
          message: `"${method.value}" is not a method Gateway API matches; expected one of ${[...GATEWAY_METHODS].join(', ')}`,
        });
      } else if (method) converted.method = method.value;
    }
    const seen = new Map<string, string>();
    for (const name of Object.keys(match.headers ?? {})) {
      const other = seen.get(name.toLowerCase());
      if (other !== undefined)
        issues.push({
          path: `${at}.headers.${name}`,
          message: `names the header ${other} again (header names ignore case); Gateway API takes one condition per header`,
        });
      seen.set(name.toLowerCase(), name);
    }
    for (const key of ['headers', 'queryParams'] as const) {
      const list = gatewayStringMatches(match[key], `${at}.${key}`, 'Gateway API', issues);
      if (list.length > GATEWAY_LIMITS[key]) {
        issues.push({
          path: `${at}.${key}`,
          message: `Gateway API takes at most ${GATEWAY_LIMITS[key]} per match`,
        });
      }
      if (list.length) converted[key] = list;
    }
    return Object.keys(converted).length ? converted : structuredClone(MATCH_EVERYTHING);
  });
  return { matches: results, issues };
}

/** Istio matches as Gateway API HTTPRouteMatches; throws the first condition it cannot express. */
export function gatewayMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): JsonObject[] {
  return throwFirst(translateGatewayMatches(matches, field)).matches;
}

/** Gateway API's analogue of combineMatches, on converted matches; names in issues are the A/B side's. */
export function combineGatewayMatches(
  analysis: readonly JsonObject[],
  service: readonly JsonObject[],
  fields: { analysis: string; service: string } = {
    analysis: 'spec.analysis.match',
    service: 'spec.service.match',
  },
): { matches: JsonObject[]; issues: MatchIssue[] } {
  if (!service.length) return { matches: analysis.map((match) => structuredClone(match)), issues: [] };
  if (!analysis.length) return { matches: service.map((match) => structuredClone(match)), issues: [] };
  const matches: JsonObject[] = [];
  const issues: MatchIssue[] = [];
  analysis.forEach((a, i) => {
    service.forEach((s, j) => {
      const combined: JsonObject = structuredClone(s);
      for (const key of ['path', 'method'] as const) {
        if (a[key] === undefined) continue;
        const everything = key === 'path' && sameJson(a[key], MATCH_EVERYTHING.path);
        if (everything) continue;
        const theirs = s[key];
        const theirsEverything = key === 'path' && sameJson(theirs, MATCH_EVERYTHING.path);
        if (theirs !== undefined && !theirsEverything && !sameJson(theirs, a[key])) {
          issues.push({
            path: `${fields.analysis}[${i}].${key === 'path' ? 'uri' : key}`,
            message: `conflicts with ${fields.service}[${j}].${key === 'path' ? 'uri' : key}: one request match holds one ${key} condition`,
          });
          continue;
        }
        combined[key] = structuredClone(a[key]);
      }
      for (const list of ['headers', 'queryParams'] as const) {
        const key = (name: unknown) => (list === 'headers' ? String(name).toLowerCase() : String(name));
        const byName = new Map<string, JsonObject>();
        for (const item of (s[list] as JsonObject[] | undefined) ?? []) byName.set(key(item.name), item);
        for (const item of (a[list] as JsonObject[] | undefined) ?? []) {
          const other = byName.get(key(item.name));
          if (other && !(other.value === item.value && (other.type ?? 'Exact') === (item.type ?? 'Exact'))) {
            issues.push({
              path: `${fields.analysis}[${i}].${list}.${String(item.name)}`,
              message: `conflicts with ${fields.service}[${j}].${list}.${String(other.name)}: one request match cannot hold two conditions on the same name`,
            });
            continue;
          }
          byName.set(key(item.name), item);
        }
        if (byName.size) combined[list] = [...byName.values()].map((item) => structuredClone(item));
        if (byName.size > GATEWAY_LIMITS[list]) {
          issues.push({
            path: `${fields.analysis}[${i}].${list}`,
            message: `with ${fields.service}[${j}] makes more than ${GATEWAY_LIMITS[list]} ${list} in one match, Gateway API’s limit`,
          });
        }
      }
      matches.push(combined);
    });
  });
  if (matches.length > GATEWAY_LIMITS.matches) {
    issues.push({
      path: fields.analysis,
      message: `combined with ${fields.service} makes ${matches.length} matches; Gateway API takes at most ${GATEWAY_LIMITS.matches} per rule`,
    });
  }
  return { matches, issues };
}

/** combineGatewayMatches for routers: throws the first conflict. */
export function mergeGatewayMatches(
  analysis: readonly JsonObject[],
  service: readonly JsonObject[],
): JsonObject[] {
  return throwFirst(combineGatewayMatches(analysis, service)).matches;
}

// ---- ingress-nginx ------------------------------------------------------------------------

/**
 * spec.analysis.match as ingress-nginx canary annotations. ingress-nginx routes a canary by
 * one header (a value or a pattern) and one cookie, and sends a request to the canary when
 * either says so: so each match must hold exactly one condition, on a header or (Flagger's
 * convention) on `cookie`, whose exact value names the cookie that must be `always`.
 * Patterns are anchored, because ingress-nginx searches where Istio matches the whole value.
 */
export function translateNginxMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
  prefix: string,
): { annotations: Record<string, string>; issues: MatchIssue[] } {
  const annotations: Record<string, string> = {};
  const issues: MatchIssue[] = [];
  let header: { at: string; name: string; key: string; value: string } | undefined;
  let cookie: { at: string; name: string } | undefined;
  (matches ?? []).forEach((match, i) => {
    const at = `${field}[${i}]`;
    refuseKeys(
      match,
      at,
      ['name', 'headers'],
      () => 'has no ingress-nginx equivalent: ingress-nginx routes a canary by one header or one cookie only',
      issues,
    );
    const conditions = entries(match.headers);
    if (conditions.length !== 1) {
      if (conditions.length > 1)
        issues.push({
          path: `${at}.headers`,
          message:
            'holds several conditions; ingress-nginx sends a request to the canary when any one matches, so give each its own match',
        });
      else if (Object.keys(match).every((key) => key === 'name'))
        issues.push({
          path: at,
          message: 'matches every request; ingress-nginx needs a header or cookie condition',
        });
      return;
    }
    const [name, value] = conditions[0]!;
    const path = `${at}.headers.${name}`;
    if (name.toLowerCase() === 'cookie') {
      const read = readStringMatch(value, path, ['exact'], 'ingress-nginx (cookie name)', issues);
      if (!read) return;
      if (cookie && cookie.name !== read.value) {
        issues.push({
          path,
          message: `is a second cookie (after ${cookie.at}): ingress-nginx routes a canary by one cookie only`,
        });
        return;
      }
      cookie = { at: path, name: read.value };
      return;
    }
    const read = readStringMatch(value, path, STRING_MATCH_KINDS, 'ingress-nginx', issues);
    if (!read) return;
    const [key, text] =
      read.kind === 'exact'
        ? ['canary-by-header-value', read.value]
        : ['canary-by-header-pattern', `^(?:${asRegex(read.kind, read.value)})$`];
    if (
      header &&
      (header.name.toLowerCase() !== name.toLowerCase() || header.key !== key || header.value !== text)
    ) {
      issues.push({
        path,
        message: `is a second header condition (after ${header.at}): ingress-nginx routes a canary by one header condition only`,
      });
      return;
    }
    header = { at: path, name, key, value: text };
  });
  if (header) {
    annotations[`${prefix}/canary-by-header`] = header.name;
    annotations[`${prefix}/${header.key}`] = header.value;
  }
  if (cookie) annotations[`${prefix}/canary-by-cookie`] = cookie.name;
  if (!header && !cookie && issues.length === 0) {
    issues.push({
      path: field,
      message: 'has no header or cookie condition, the only ones ingress-nginx can route a canary by',
    });
  }
  return { annotations, issues };
}

// ---- Contour ------------------------------------------------------------------------------

const CONTOUR_WHY: Record<string, string> = {
  method: 'an HTTPProxy route has no method condition',
  scheme: 'an HTTPProxy route has no scheme condition',
  authority: 'Contour matches the host through the root HTTPProxy’s virtualhost (spec.service.hosts)',
  withoutHeaders: 'Sluice writes no negative header conditions for Contour',
  sourceLabels: 'Contour does not match on the calling workload',
  sourceNamespace: 'Contour does not match on the calling workload’s namespace',
  port: 'Contour routes by host and path, not per-match port',
  gateways: 'gateways are Istio’s',
  ignoreUriCase: 'Contour matches paths case-sensitively',
  statPrefix: 'Contour has no per-match statistics prefix',
};

/**
 * Istio matches as Contour HTTPProxy route conditions: one list of conditions per match
 * (conditions within a route all hold; a request matching any match means one route per
 * match). `uri.prefix` becomes Contour's `prefix`, which compares whole path segments
 * (`/api` matches `/api` and `/api/v1`, not `/apiv2`); header `prefix`/`suffix` become
 * anchored regular expressions; query parameters keep their kind.
 */
export function translateContourMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): { conditions: JsonObject[][]; issues: MatchIssue[] } {
  const refuse = {
    // ignoreUriCase belongs to a uri condition (see combineMatches); a case-sensitive path is
    // what Contour does anyway.
    supported: (match: HTTPMatchRequest) => [
      'name',
      'uri',
      'headers',
      'queryParams',
      ...(match.uri !== undefined && match.ignoreUriCase === true ? [] : ['ignoreUriCase']),
    ],
    why: (key: string) =>
      `has no Contour equivalent: ${CONTOUR_WHY[key] ?? 'not a condition Contour matches on'}`,
  };
  const { results, issues } = translateEach(matches, field, refuse, (match, at, issues) => {
    const list: JsonObject[] = [];
    if (match.uri) {
      const uri = readPath(match.uri, at, 'Contour', issues);
      if (uri) list.push({ [uri.kind]: uri.value });
    }
    const seen = new Map<string, string>();
    for (const [name, value] of entries(match.headers)) {
      const other = seen.get(name.toLowerCase());
      if (other !== undefined) {
        issues.push({
          path: `${at}.headers.${name}`,
          message: `names the header ${other} again (header names ignore case); give one condition per header`,
        });
        continue;
      }
      seen.set(name.toLowerCase(), name);
      const read = readStringMatch(value, `${at}.headers.${name}`, STRING_MATCH_KINDS, 'Contour', issues);
      if (!read) continue;
      list.push({
        header:
          read.kind === 'exact'
            ? { name, exact: read.value }
            : { name, regex: asRegex(read.kind, read.value) },
      });
    }
    for (const [name, value] of entries(match.queryParams)) {
      const read = readStringMatch(value, `${at}.queryParams.${name}`, STRING_MATCH_KINDS, 'Contour', issues);
      if (read) list.push({ queryParameter: { name, [read.kind]: read.value } });
    }
    return list;
  });
  return { conditions: results, issues };
}

// ---- APISIX -------------------------------------------------------------------------------

/**
 * spec.analysis.match as APISIX route expressions (ApisixRoute v2 `match.exprs`), one rule
 * per match: headers and query parameters, `exact` as Equal, everything else as an anchored
 * RegexMatch (APISIX searches a pattern; Istio matches the whole value). Path, method and
 * host stay those of the ApisixRoute in spec.routeRef, so they are refused here.
 */
export function translateApisixMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): { exprs: JsonObject[][]; issues: MatchIssue[] } {
  const refuse = {
    supported: () => ['name', 'headers', 'queryParams'],
    why: () =>
      'has no APISIX canary equivalent: the canary ApisixRoute keeps the paths, methods and hosts of spec.routeRef and adds header and query expressions only',
  };
  const { results, issues } = translateEach(matches, field, refuse, (match, at, issues) => {
    const list: JsonObject[] = [];
    for (const [key, scope] of [
      ['headers', 'Header'],
      ['queryParams', 'Query'],
    ] as const) {
      for (const [name, value] of entries(match[key])) {
        const read = readStringMatch(value, `${at}.${key}.${name}`, STRING_MATCH_KINDS, 'APISIX', issues);
        if (!read) continue;
        list.push(
          read.kind === 'exact'
            ? { subject: { scope, name }, op: 'Equal', value: read.value }
            : {
                subject: { scope, name },
                op: 'RegexMatch',
                value: `^(?:${asRegex(read.kind, read.value)})$`,
              },
        );
      }
    }
    if (!list.length && !issues.some((issue) => issue.path.startsWith(at)))
      issues.push({
        path: at,
        message: 'matches every request; APISIX’s canary rule needs a header or query condition',
      });
    return list;
  });
  return { exprs: results, issues };
}

/**
 * Contour's A/B routes: each A/B match combined with each route match, as conditions, and
 * the default routes (the route matches). An A/B route whose conditions equal a default
 * route's could not be told apart from it (Contour refuses two routes with the same
 * conditions), so that is an issue.
 */
export function contourAbConditions(
  analysis: readonly HTTPMatchRequest[] | undefined,
  service: readonly HTTPMatchRequest[] | undefined,
): { ab: JsonObject[][]; defaults: JsonObject[][]; issues: MatchIssue[] } {
  const combined = combineMatches(analysis ?? [], service);
  const translated = translateContourMatches(combined.matches, 'spec.analysis.match');
  const own = translateContourMatches(service, 'spec.service.match').conditions;
  const defaults = own.length ? own : [[]];
  const issues = [...translateContourMatches(analysis, 'spec.analysis.match').issues, ...combined.issues];
  if (issues.length === 0) issues.push(...translated.issues);
  translated.conditions.forEach((conditions, i) => {
    if (defaults.some((other) => sameJson(other, conditions)))
      issues.push({
        path: 'spec.analysis.match',
        message: `match ${i} (combined with spec.service.match) adds no condition to the route it narrows; Contour needs one to tell the A/B route from the default`,
      });
  });
  return { ab: translated.conditions, defaults, issues };
}

// ---- Gateway API GRPCRoute ------------------------------------------------------------------

const GRPC_SERVICE = /^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

/**
 * Istio matches as GRPCRouteMatches. A gRPC call's path is `/<service>/<method>`, so
 * `uri.exact` of that form becomes a method match on both, and `uri.prefix` of the form
 * `/<service>/` a match on the service; headers keep their conditions (prefix and suffix as
 * regular expressions). Nothing else of a request is a gRPC route condition. A match with no
 * conditions is every call (`{}`).
 */
export function translateGrpcMatches(
  matches: readonly HTTPMatchRequest[] | undefined,
  field: string,
): { matches: JsonObject[]; issues: MatchIssue[] } {
  const refuse = {
    supported: () => ['name', 'uri', 'headers'],
    why: () =>
      'has no GRPCRoute equivalent: a gRPC route matches the service, the method (through uri) and headers',
  };
  const { results, issues } = translateEach(matches, field, refuse, (match, at, issues) => {
    const converted: JsonObject = {};
    if (match.uri) {
      const uri = readStringMatch(match.uri, `${at}.uri`, ['exact', 'prefix'], 'GRPCRoute (uri)', issues);
      const parts = uri?.value.split('/') ?? [];
      if (
        uri?.kind === 'exact' &&
        parts.length === 3 &&
        parts[0] === '' &&
        GRPC_SERVICE.test(parts[1]!) &&
        GRPC_METHOD.test(parts[2]!)
      ) {
        converted.method = { type: 'Exact', service: parts[1], method: parts[2] };
      } else if (
        uri?.kind === 'prefix' &&
        parts.length === 3 &&
        parts[0] === '' &&
        parts[2] === '' &&
        GRPC_SERVICE.test(parts[1]!)
      ) {
        converted.method = { type: 'Exact', service: parts[1] };
      } else if (uri) {
        issues.push({
          path: `${at}.uri.${uri.kind}`,
          message: `a gRPC route matches "/<service>/<method>" exactly or "/<service>/" as a prefix (got "${uri.value}")`,
        });
      }
    }
    const headers = gatewayStringMatches(match.headers, `${at}.headers`, 'GRPCRoute', issues);
    if (headers.length > GATEWAY_LIMITS.headers)
      issues.push({
        path: `${at}.headers`,
        message: `GRPCRoute takes at most ${GATEWAY_LIMITS.headers} per match`,
      });
    if (headers.length) converted.headers = headers;
    return converted;
  });
  return { matches: results, issues };
}

/** The A/B and default GRPCRoute matches: the A/B ones within the route's own, and those. */
export function grpcAbMatches(
  analysis: readonly HTTPMatchRequest[] | undefined,
  service: readonly HTTPMatchRequest[] | undefined,
): { ab: JsonObject[]; defaults: JsonObject[]; issues: MatchIssue[] } {
  const combined = combineMatches(analysis ?? [], service);
  const ab = translateGrpcMatches(combined.matches, 'spec.analysis.match');
  const issues = [...translateGrpcMatches(analysis, 'spec.analysis.match').issues, ...combined.issues];
  if (issues.length === 0) issues.push(...ab.issues);
  return { ab: ab.matches, defaults: translateGrpcMatches(service, 'spec.service.match').matches, issues };
}
