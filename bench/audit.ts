import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';

// Apiserver requests made by one controller, counted from the apiserver's audit log.
// kube-apiserver 1.36's apiserver_request_total has no user or user-agent label, and the
// control plane's own components (controller-manager, scheduler, kwok) request at the same
// time, so /metrics deltas cannot tell the controller's requests apart. Each controller runs
// under its own client-certificate identity instead, and the audit policy logs only those
// identities (level Metadata, one line per finished request).

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The audit policy: Metadata for the benchmarked controllers' users, nothing for anyone else. */
export function auditPolicy(users: readonly string[]): string {
  return JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived', 'ResponseStarted'],
    rules: [{ level: 'Metadata', users: [...users] }, { level: 'None' }],
  });
}

/** kube-apiserver flags for a JSON audit log that is written synchronously and never rotates mid-run. */
export function auditApiserverArgs(policyFile: string, logFile: string): string[] {
  return [
    `--audit-policy-file=${policyFile}`,
    `--audit-log-path=${logFile}`,
    '--audit-log-format=json',
    '--audit-log-mode=blocking',
    '--audit-log-maxsize=100000',
    '--audit-log-maxbackup=1',
  ];
}

const AuditEvent = z.object({
  stage: z.string(),
  verb: z.string(),
  user: z.object({ username: z.string() }),
  userAgent: z.string().optional(),
  objectRef: z
    .object({
      resource: z.string().optional(),
      subresource: z.string().optional(),
      apiGroup: z.string().optional(),
      name: z.string().optional(),
      namespace: z.string().optional(),
    })
    .optional(),
  requestReceivedTimestamp: z.string(),
});
type AuditEvent = z.infer<typeof AuditEvent>;

export interface RequestTally {
  total: number;
  reads: number;
  writes: number;
  /** Requests by verb (get, list, watch, create, patch, update, delete, …). */
  byVerb: Record<string, number>;
  /** Requests by `verb resource[/subresource]`, e.g. `patch canaries/status`. */
  byRequest: Record<string, number>;
  userAgents: string[];
}

export function emptyTally(): RequestTally {
  return { total: 0, reads: 0, writes: 0, byVerb: {}, byRequest: {}, userAgents: [] };
}

export interface TallyWindow {
  user: string;
  /** Epoch ms: requests received at or after this count. */
  from: number;
  /** Epoch ms: requests received before this count. */
  to: number;
}

/** One audit log line as an event; undefined for a line cut short by a read racing the writer. */
function auditEvent(line: string): AuditEvent | undefined {
  try {
    const result = AuditEvent.safeParse(JSON.parse(line));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** Adds one audit log line to the tally when it is a finished request of `user` received within the window. */
export function tallyLine(tally: RequestTally, line: string, window: TallyWindow): void {
  // Cheap test first: most lines of a shared log belong to another user.
  if (!line.includes(`"username":"${window.user}"`)) return;
  const event = auditEvent(line);
  if (!event) return;
  if (event.user.username !== window.user) return;
  if (event.stage !== 'ResponseComplete' && event.stage !== 'Panic') return;
  const received = Date.parse(event.requestReceivedTimestamp);
  if (!(received >= window.from && received < window.to)) return;
  tally.total += 1;
  if (WRITE_VERBS.has(event.verb)) tally.writes += 1;
  else tally.reads += 1;
  tally.byVerb[event.verb] = (tally.byVerb[event.verb] ?? 0) + 1;
  const resource = event.objectRef?.resource ?? '(non-resource)';
  const key = `${event.verb} ${resource}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
  tally.byRequest[key] = (tally.byRequest[key] ?? 0) + 1;
  if (event.userAgent && !tally.userAgents.includes(event.userAgent)) tally.userAgents.push(event.userAgent);
}

/** Tallies the requests of `window.user` in an audit log file. */
export async function tallyAuditLog(file: string, window: TallyWindow): Promise<RequestTally> {
  const tally = emptyTally();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) tallyLine(tally, line, window);
  return tally;
}

/** The audit policy for `users` under .sluice/<dir>, a fresh log file there, and the apiserver flags for both. */
export async function auditSetup(
  dir: string,
  users: readonly string[],
): Promise<{ auditLog: string; apiserverArgs: string[] }> {
  const auditDir = resolve('.sluice', dir);
  await mkdir(auditDir, { recursive: true });
  const policy = join(auditDir, 'policy.json');
  const auditLog = join(auditDir, `audit-${Date.now()}.log`);
  await writeFile(policy, auditPolicy(users));
  return { auditLog, apiserverArgs: auditApiserverArgs(policy, auditLog) };
}

export interface AuditedWrite {
  user: string;
  verb: string;
  resource: string;
  name: string;
  namespace: string;
  /** Epoch ms the apiserver received it. */
  at: number;
  timestamp: string;
}

/** The finished write requests of `users` in an audit log file, in the log's order. */
export async function auditedWrites(file: string, users: ReadonlySet<string>): Promise<AuditedWrite[]> {
  const writes: AuditedWrite[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const event = auditEvent(line);
    if (event?.stage !== 'ResponseComplete') continue;
    if (!users.has(event.user.username) || !WRITE_VERBS.has(event.verb)) continue;
    const ref = event.objectRef;
    writes.push({
      user: event.user.username,
      verb: event.verb,
      resource: ref?.resource ?? '',
      name: ref?.name ?? '',
      namespace: ref?.namespace ?? '',
      at: Date.parse(event.requestReceivedTimestamp),
      timestamp: event.requestReceivedTimestamp,
    });
  }
  return writes;
}
