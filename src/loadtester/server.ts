import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatDuration } from '../api/duration.ts';
import { IDEMPOTENCY_KEY_HEADER } from '../hooks/idempotency.ts';
import { canaryWebhookPayloadSchema, type CanaryWebhookPayload } from '../hooks/types.ts';
import { silentLogger, type Logger } from '../log.ts';
import { listenError } from '../startup.ts';
import { CommandSyntaxError, isAllowed, runCommand, splitCommand, type CommandResult } from './command.ts';
import { gateKey, type GateKind, type GateStore } from './gates.ts';
import { RecentAnswers, type RecentAnswersOptions } from './idempotency.ts';
import { parseLoadSpec, runLoad, TaskSpecError, type LoadDeps, type LoadSpec } from './load.ts';
import { createLoadtesterMetrics, type LoadtesterMetrics } from './metrics.ts';
import { parseSmokeSpec, runSmoke } from './smoke.ts';

export interface LoadtesterOptions {
  gates: GateStore;
  /** Only canaries in matching namespaces are served (unanchored, like Flagger's --namespace-regexp). */
  namespacePattern?: RegExp;
  /** Command prefixes, each split into words, that `type: cmd` may run. Empty: no commands. */
  allowedCommandPrefixes?: ReadonlyArray<readonly string[]>;
  /** The longest a load test or command may run. */
  taskTimeoutMs?: number;
  /** Asynchronous tasks running at once; more are refused with 429. */
  maxActiveTasks?: number;
  logger?: Logger;
  metrics?: LoadtesterMetrics;
  /** For tests: replaces the HTTP sender of load runs. */
  loadDeps?: Pick<LoadDeps, 'send'>;
  /**
   * When set (--token-file), every endpoint but /healthz and /metrics wants
   * `Authorization: Bearer <token>` and answers 401 without it.
   */
  token?: string;
  /** How many idempotency keys, for how long, a task's answer is remembered (defaults: 10 000, 1 h). */
  idempotency?: RecentAnswersOptions;
}

/** Endpoints open without the token: probes and Prometheus. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/metrics']);

/** Compares a presented token with the expected one in constant time (digests of equal length). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  // Hashing both sides first: timingSafeEqual needs equal lengths, and the length of the
  // presented value must not decide how long the comparison takes.
  const same = timingSafeEqual(digest(presented ?? ''), digest(expected));
  return presented !== undefined && same;
}

/** The token of an `Authorization: Bearer …` header. */
function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

export const DEFAULT_TASK_TIMEOUT_MS = 60 * 60_000;
const MAX_BODY_BYTES = 1024 * 1024;

interface Answer {
  status: number;
  body: string;
  contentType?: string;
}

const answer = (status: number, body: string): Answer => ({ status, body });

class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface ActiveTask {
  canary: string;
  type: string;
  description: string;
  controller: AbortController;
  done: Promise<void>;
}

/** Flagger's blocking command types, and the program each one runs. */
const COMMAND_PROGRAMS: Record<string, string | undefined> = {
  cmd: undefined,
  bash: undefined,
  kubectl: 'kubectl',
  helm: 'helm',
  helmv3: 'helm',
};

/**
 * The load tester: the webhook receiver that starts load tests and smoke tests, keeps
 * manual gates, and (only when allowed) runs commands. It accepts the payload Flagger's
 * controller sends as well as Sluice's, so either can call it.
 */
export class Loadtester {
  readonly metrics: LoadtesterMetrics;
  readonly server: Server;
  readonly #options: LoadtesterOptions;
  readonly #logger: Logger;
  readonly #tasks = new Map<string, ActiveTask>();
  readonly #answers: RecentAnswers<Answer>;

  constructor(options: LoadtesterOptions) {
    this.#options = options;
    this.#answers = new RecentAnswers(options.idempotency);
    this.#logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? createLoadtesterMetrics();
    this.server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'request failed',
        );
        if (!response.headersSent) respond(response, answer(500, 'internal error'));
      });
    });
  }

  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error) => reject(listenError(error, port, host ?? '0.0.0.0')));
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  /** Stops accepting requests and aborts running tasks. */
  async close(): Promise<void> {
    for (const task of this.#tasks.values()) task.controller.abort();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await Promise.allSettled([...this.#tasks.values()].map((task) => task.done));
  }

  /** Descriptions of the asynchronous tasks running now. */
  activeTasks(): Array<{ canary: string; type: string; description: string }> {
    return [...this.#tasks.values()].map(({ canary, type, description }) => ({ canary, type, description }));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://loadtester').pathname;
    let result: Answer;
    const token = this.#options.token;
    if (token !== undefined && !OPEN_PATHS.has(path) && !tokenMatches(bearerToken(request), token)) {
      this.#logger.warn(
        {
          path,
          remote: request.socket.remoteAddress,
          presented: request.headers.authorization !== undefined,
        },
        'request refused: no valid bearer token',
      );
      this.metrics.unauthorized.inc();
      // Drain the body so the connection can be reused, then refuse.
      request.resume();
      response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
      response.end('Unauthorized: this load tester wants "Authorization: Bearer <token>" (--token-file)\n');
      return;
    }
    try {
      result = await this.#route(path, request);
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      result = answer(error.status, error.message);
    }
    respond(response, result);
  }

  async #route(path: string, request: IncomingMessage): Promise<Answer> {
    switch (path) {
      case '/healthz':
        return answer(200, 'OK');
      case '/metrics': {
        const text = await this.metrics.registry.metrics();
        return { status: 200, body: text, contentType: this.metrics.registry.contentType };
      }
      case '/gate/approve':
        return answer(200, 'Approved');
      case '/gate/halt':
        return answer(403, 'Forbidden');
      case '/gate/check':
        return this.#checkGate('gate', await this.#payload(request));
      case '/gate/open':
        return this.#setGate('gate', await this.#payload(request), true);
      case '/gate/close':
        return this.#setGate('gate', await this.#payload(request), false);
      case '/rollback/check':
        return this.#checkGate('rollback', await this.#payload(request));
      case '/rollback/open':
        return this.#setGate('rollback', await this.#payload(request), true);
      case '/rollback/close':
        return this.#setGate('rollback', await this.#payload(request), false);
      case '/':
        if (request.method !== 'POST') return answer(405, 'POST a webhook payload to / to start a task');
        return this.#taskOnce(request, await this.#payload(request));
      default:
        return answer(404, `no such endpoint ${path}`);
    }
  }

  /** Reads, parses and authorizes a webhook payload. */
  async #payload(request: IncomingMessage): Promise<CanaryWebhookPayload> {
    const text = await readBody(request);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RequestError(400, 'the body is not JSON; expected a webhook payload {"name","namespace",…}');
    }
    const parsed = canaryWebhookPayloadSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RequestError(
        400,
        `invalid payload: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : ''}`,
      );
    }
    const pattern = this.#options.namespacePattern;
    if (pattern && !pattern.test(parsed.data.namespace)) {
      throw new RequestError(
        403,
        `Forbidden: namespace ${parsed.data.namespace} is not served by this load tester (--namespace-regexp ${pattern.source})`,
      );
    }
    return parsed.data;
  }

  async #checkGate(kind: GateKind, payload: CanaryWebhookPayload): Promise<Answer> {
    const canary = `${payload.name}.${payload.namespace}`;
    const open = await this.#gateCall(() => this.#options.gates.isOpen(gateKey(kind, payload)));
    this.metrics.gateChecks.inc({ canary, kind, answer: open ? 'approved' : 'forbidden' });
    this.#logger.info({ canary, kind, approved: open }, `${kind} check`);
    return open ? answer(200, 'Approved') : answer(403, 'Forbidden');
  }

  async #setGate(kind: GateKind, payload: CanaryWebhookPayload, open: boolean): Promise<Answer> {
    const canary = `${payload.name}.${payload.namespace}`;
    await this.#gateCall(() => this.#options.gates.set(gateKey(kind, payload), open));
    this.#logger.info({ canary, kind }, `${kind} ${open ? 'opened' : 'closed'}`);
    // 202 as Flagger answers; the body says what happened for the person with curl.
    return answer(202, `${kind} ${open ? 'opened' : 'closed'} for ${canary}`);
  }

  async #gateCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      // Fail closed: a gate whose state cannot be read is not approved.
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.error({ error: message }, 'gate store failed');
      throw new RequestError(500, message);
    }
  }

  /**
   * A task once per idempotency key (the `Idempotency-Key` header, else the payload's
   * `idempotencyKey`): a repeat gets the first call's answer and runs nothing. Failures worth
   * retrying (5xx, 429) are not remembered. Calls without a key run every time, as in Flagger.
   */
  async #taskOnce(request: IncomingMessage, payload: CanaryWebhookPayload): Promise<Answer> {
    const header = request.headers[IDEMPOTENCY_KEY_HEADER];
    const key = (typeof header === 'string' && header !== '' ? header : undefined) ?? payload.idempotencyKey;
    if (key === undefined) return this.#task(payload);
    const canary = `${payload.name}.${payload.namespace}`;
    const { answer: first, repeat } = await this.#answers.once(
      `${canary}\u0000${key}`,
      () => this.#task(payload),
      (a) => a.status < 500 && a.status !== 429,
    );
    if (repeat) {
      this.metrics.repeats.inc({ canary });
      this.#logger.info({ canary, key }, "repeated call: answered with the first call's answer, nothing run");
    }
    return first;
  }

  async #task(payload: CanaryWebhookPayload): Promise<Answer> {
    const metadata = payload.metadata ?? {};
    if (Object.keys(metadata).length === 0) {
      return answer(
        400,
        'metadata not found in payload; a load test needs metadata.url (see metadata.type: load, smoke, cmd)',
      );
    }
    // Flagger's load tester runs metadata.cmd when no type is given; keep that reading.
    const type = metadata.type || (metadata.cmd ? 'cmd' : 'load');
    const canary = `${payload.name}.${payload.namespace}`;
    const timeoutMs = this.#options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    try {
      if (type === 'load') return this.#startLoad(canary, parseLoadSpec(metadata, timeoutMs));
      if (type === 'smoke') return await this.#smoke(canary, metadata);
      if (type in COMMAND_PROGRAMS) return await this.#command(canary, type, metadata);
    } catch (error) {
      if (error instanceof TaskSpecError || error instanceof CommandSyntaxError) {
        return answer(400, `${type} task for ${canary}: ${error.message}`);
      }
      throw error;
    }
    return answer(
      400,
      `unknown task type ${type}; this load tester runs load, smoke and cmd (and Flagger's bash, kubectl, helm with --allow-cmd-prefix)`,
    );
  }

  #startLoad(canary: string, spec: LoadSpec): Answer {
    const description = `${spec.method} ${spec.url} at ${spec.rps} rps for ${formatDuration(spec.durationMs)} (concurrency ${spec.concurrency})`;
    const key = taskKey(canary, 'load', JSON.stringify(spec));
    return this.#startTask(key, canary, 'load', description, async (signal) => {
      const report = await runLoad(spec, {
        ...this.#options.loadDeps,
        signal,
        onOutcome: (outcome) => {
          this.metrics.requests.inc({
            canary,
            code: outcome.status === undefined ? 'error' : String(outcome.status),
          });
          if (outcome.error) this.metrics.requestErrors.inc({ canary, reason: outcome.error });
          this.metrics.latency.observe({ canary }, outcome.latencyMs / 1000);
        },
      });
      if (report.dropped > 0) this.metrics.dropped.inc({ canary }, report.dropped);
      const round = (n: number): number => Math.round(n * 10) / 10;
      this.#logger.info(
        {
          canary,
          task: description,
          requests: report.requests,
          dropped: report.dropped,
          achievedRps: round(report.achievedRps),
          statusCounts: report.statusCounts,
          errors: report.errors,
          latencyMs: Object.fromEntries(Object.entries(report.latencyMs).map(([k, v]) => [k, round(v)])),
          aborted: report.aborted,
        },
        'load test finished',
      );
      // The result label only: a load test reports, the metric checks judge.
      const serverErrors = Object.keys(report.statusCounts).some((code) => Number(code) >= 500);
      return !serverErrors && Object.keys(report.errors).length === 0;
    });
  }

  async #smoke(canary: string, metadata: Record<string, string>): Promise<Answer> {
    const result = await runSmoke(parseSmokeSpec(metadata));
    this.metrics.runs.inc({ canary, type: 'smoke', result: result.ok ? 'passed' : 'failed' });
    this.#logger.info({ canary, passed: result.ok }, result.summary);
    return answer(result.ok ? 200 : 500, result.summary);
  }

  async #command(canary: string, type: string, metadata: Record<string, string>): Promise<Answer> {
    const line = metadata.cmd;
    if (!line) return answer(400, `${type} task for ${canary}: metadata.cmd is required`);
    const program = COMMAND_PROGRAMS[type];
    const argv = program ? [program, ...splitCommand(line)] : splitCommand(line);
    const prefixes = this.#options.allowedCommandPrefixes ?? [];
    if (!isAllowed(argv, prefixes)) {
      const shown = argv.join(' ');
      this.#logger.warn({ canary, command: shown }, 'command refused');
      return answer(
        403,
        prefixes.length === 0
          ? `command tasks are disabled: this load tester runs no commands unless its operator allows a prefix, ` +
              `e.g. --allow-cmd-prefix ${argv[0]} (refused: ${shown})`
          : `command not allowed: "${shown}" does not start with an allowed prefix ` +
              `(${prefixes.map((p) => p.join(' ')).join(', ')}); add one with --allow-cmd-prefix`,
      );
    }
    const timeoutMs = this.#options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    const logOutput = metadata.logCmdOutput === 'true';
    const logFinished = (result: CommandResult) =>
      this.#logger.info(
        {
          canary,
          command: argv.join(' '),
          ok: result.ok,
          durationMs: result.durationMs,
          ...(logOutput || !result.ok ? { output: result.output } : {}),
        },
        'command finished',
      );
    if (type === 'cmd') {
      // Flagger runs `cmd` tasks in the background (hey, k6 …): answer 202 at once.
      return this.#startTask(
        taskKey(canary, 'cmd', argv.join('\u0000')),
        canary,
        'cmd',
        argv.join(' '),
        async (signal) => {
          const result = await runCommand(argv, timeoutMs, signal);
          logFinished(result);
          return result.ok;
        },
      );
    }
    const result = await runCommand(argv, timeoutMs);
    this.metrics.runs.inc({ canary, type, result: result.ok ? 'passed' : 'failed' });
    logFinished(result);
    if (!result.ok) return answer(500, `command ${argv.join(' ')} failed: ${result.output}`);
    return answer(200, metadata.returnCmdOutput === 'true' ? result.output : '');
  }

  /**
   * Starts an asynchronous task unless the same one (same canary, same spec) is running:
   * webhooks repeat every interval, and a repeat must not start a second run.
   */
  #startTask(
    key: string,
    canary: string,
    type: string,
    description: string,
    run: (signal: AbortSignal) => Promise<boolean>,
  ): Answer {
    if (this.#tasks.has(key)) {
      return answer(202, `${type} task already running for ${canary}: ${description}`);
    }
    const limit = this.#options.maxActiveTasks ?? 32;
    if (this.#tasks.size >= limit) {
      return answer(429, `${limit} tasks are running already; try again when one has finished`);
    }
    const controller = new AbortController();
    this.metrics.active.inc();
    this.#logger.info({ canary, type, task: description }, 'task started');
    const done = (async () => {
      let ok = false;
      try {
        ok = await run(controller.signal);
      } catch (error) {
        this.#logger.error(
          { canary, type, error: error instanceof Error ? error.message : String(error) },
          'task failed',
        );
      } finally {
        this.#tasks.delete(key);
        this.metrics.active.dec();
        this.metrics.runs.inc({ canary, type, result: ok ? 'passed' : 'failed' });
      }
    })();
    this.#tasks.set(key, { canary, type, description, controller, done });
    return answer(202, `${type} task started for ${canary}: ${description}`);
  }
}

function taskKey(canary: string, type: string, spec: string): string {
  return createHash('sha256').update(`${canary}\u0000${type}\u0000${spec}`).digest('hex');
}

function respond(response: ServerResponse, result: Answer): void {
  response.writeHead(result.status, { 'content-type': result.contentType ?? 'text/plain; charset=utf-8' });
  response.end(result.body.endsWith('\n') || result.body === '' ? result.body : `${result.body}\n`);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new RequestError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
