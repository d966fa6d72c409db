import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { parseDuration } from '../api/duration.ts';
import { parseProvider, unsupportedProviderMessage } from '../api/providers.ts';
import { startController } from '../controller/controller.ts';
import { createQueryBatcher } from '../analysis/batch.ts';
import { shardLeaseName, shardNameProblem } from '../controller/shard.ts';
import { kubeSecretReader } from '../hooks/webhook.ts';
import { checkUrl, parseUrlPolicy, URL_POLICY_FLAG, type UrlPolicy } from '../hooks/url-policy.ts';
import { connect } from '../kube/client.ts';
import { createLogger } from '../log.ts';
import { kubeconfigSource, loadKubeConfigOrFail, StartupError } from '../startup.ts';
import { kubeNotifierResolver, Notifications } from '../notify/dispatcher.ts';
import { EventRecorder } from '../notify/events.ts';
import { addNotificationOptions, globalNotifiers, type GlobalNotifyOptions } from '../notify/global.ts';
import type { HttpHandler } from '../controller/server.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const duration = (min: number) =>
  z
    .string()
    .refine((text) => parseDuration(text) !== undefined, 'expected a duration such as 30s, 5m or 1h')
    .transform((text) => parseDuration(text)!)
    .refine((ms) => ms >= min, `must be at least ${min / 1000}s`);

/** The controller's flags, checked before anything starts: a bad one is one line naming it. */
const controllerFlags = z.object({
  kubeconfig: z.string().optional(),
  namespace: z.string().regex(DNS_LABEL, 'expected a namespace name').optional(),
  watchNamespaces: z.string().optional(),
  shard: z
    .string()
    .superRefine((name, ctx) => {
      const problem = shardNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  meshProvider: z.string().refine((value) => parseProvider(value) !== undefined, {
    error: (issue) => unsupportedProviderMessage(String(issue.input)),
  }),
  metricsServer: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  port: z
    .number('expected a port number')
    .int('expected a port number')
    .min(0, 'expected a port number')
    .max(65535, 'expected a port number (at most 65535)'),
  leaderElect: z.boolean(),
  leaderElectionNamespace: z.string().regex(DNS_LABEL, 'expected a namespace name'),
  leaderElectionId: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Lease name'),
  leaseDuration: duration(2000),
  concurrency: z
    .number('expected a whole number')
    .int('expected a whole number')
    .min(1, 'must be at least 1')
    .max(1024, 'must be at most 1024'),
  resync: duration(1000),
  stepEvents: z.boolean().optional(),
  metricBatchWindow: duration(0).refine((ms) => ms <= 5000, 'must be at most 5s'),
  allowedUrlHosts: z.string().optional(),
  dashboardAddress: z.string().optional(),
  dashboardReadOnly: z.boolean().optional(),
  slackSigningSecretFile: z.string().optional(),
  slackUsersFile: z.string().optional(),
});
type ControllerFlags = z.output<typeof controllerFlags> & GlobalNotifyOptions;

const FLAG_NAMES: Record<string, string> = { namespace: '-n/--namespace' };

/** The global notifiers, or a StartupError naming their flags. */
function notifiersOf(
  flags: GlobalNotifyOptions,
  deps: Parameters<typeof globalNotifiers>[1],
): ReturnType<typeof globalNotifiers> {
  try {
    return globalNotifiers(flags, deps);
  } catch (error) {
    throw new StartupError(
      `${error instanceof Error ? error.message : String(error)}; fix --slack-url, --slack-token, --slack-channel or --msteams-url (or SLACK_URL, SLACK_TOKEN, SLACK_CHANNEL, MSTEAMS_URL)`,
      { cause: error },
    );
  }
}

/** A number flag as a number; anything else is kept as written, so the error can show it. */
const number = (value: string): number | string => (/^\d+$/.test(value) ? Number(value) : value);

/** The flags, or a StartupError naming the first bad one. */
export function parseControllerFlags(raw: Record<string, unknown>): ControllerFlags {
  const parsed = controllerFlags.safeParse(raw);
  if (parsed.success) return { ...(raw as GlobalNotifyOptions), ...parsed.data };
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const flag = FLAG_NAMES[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const value = raw[key];
  throw new StartupError(`${flag}${value === undefined ? '' : ` ${String(value)}`}: ${issue.message}`);
}

/** `host:port`, `:port` or `[::1]:port` of --dashboard-address. */
export function parseAddress(value: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new Error(`${flag}: "${value}" is not an address; expected host:port, e.g. 0.0.0.0:9090 or :9090`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** `sluice controller`: the controller as a platform team runs it. Flag names follow Flagger's. */
export function registerController(program: Command): void {
  const command = program
    .command('controller')
    .description('run the Sluice controller')
    .addOption(
      new Option(
        '--watch-namespaces <list>',
        'comma-separated namespaces to watch (default: all; -n watches one)',
      ).env('WATCH_NAMESPACES'),
    )
    .addOption(
      new Option(
        '--shard <name>',
        'act only on Canaries labelled sluice.dev/shard=<name>, leader Lease <leader-election-id>-<name> (default: only Canaries without the label)',
      ).env('SLUICE_SHARD'),
    )
    .addOption(
      new Option('--mesh-provider <provider>', 'router for Canaries without spec.provider')
        .default('istio')
        .env('MESH_PROVIDER'),
    )
    .addOption(
      new Option('--metrics-server <url>', 'Prometheus for built-in metrics')
        .default('http://prometheus:9090')
        .env('METRICS_SERVER'),
    )
    .addOption(
      new Option('--log-level <level>', 'debug | info | warn | error').default('info').env('LOG_LEVEL'),
    )
    .addOption(
      new Option('--port <port>', 'port of /metrics, /healthz and /readyz').default(8080).argParser(number),
    )
    .addOption(new Option('--no-leader-elect', 'act without a leader lease (one replica only)'))
    .addOption(
      new Option('--leader-election-namespace <ns>', 'namespace of the leader Lease')
        .default(process.env.POD_NAMESPACE ?? 'sluice-system')
        .env('LEADER_ELECTION_NAMESPACE'),
    )
    .addOption(
      new Option('--leader-election-id <name>', 'name of the leader Lease').default('sluice-controller'),
    )
    .addOption(
      new Option('--lease-duration <duration>', 'how long a dead leader holds the lease').default('15s'),
    )
    .addOption(new Option('--concurrency <n>', 'canaries reconciled at once').default(32).argParser(number))
    .addOption(new Option('--resync <duration>', 'reconcile every canary this often, after all other work (events, ticks, retries come first)').default('5m'))
    .addOption(
      new Option(
        '--step-events',
        'also record each routine step (weight, iteration, pause) as a Kubernetes Event; status always shows it',
      ).env('STEP_EVENTS'),
    )
    .addOption(
      new Option(
        '--metric-batch-window <duration>',
        "built-in Istio and Linkerd checks of canaries due within this window share one Prometheus query per metric, split by workload; 0 runs each canary's own queries",
      )
        .default('250ms')
        .env('METRIC_BATCH_WINDOW'),
    )
    .addOption(
      new Option(
        '--dashboard-address <host:port>',
        'serve the web dashboard there (off by default); its buttons need a user token allowed to patch the Canary',
      ).env('DASHBOARD_ADDRESS'),
    )
    .addOption(
      new Option('--dashboard-read-only', 'the dashboard shows no buttons').env('DASHBOARD_READ_ONLY'),
    )
    .addOption(
      new Option(
        '--slack-signing-secret-file <path>',
        "Slack app signing secret: add buttons to the global Slack's messages and accept their presses on /slack/interactions",
      ).env('SLACK_SIGNING_SECRET_FILE'),
    )
    .addOption(
      new Option(
        '--slack-users-file <path>',
        'YAML map of Slack user id to the buttons they may press (approve, deny, rollback, pause)',
      ).env('SLACK_USERS_FILE'),
    );
  command.addOption(
    new Option(
      `${URL_POLICY_FLAG} <list>`,
      'hosts webhooks and notifications may call: cluster-local (*.svc, *.svc.cluster.local), host names, *.domain, IPs, CIDRs (default: any)',
    ).env('ALLOWED_URL_HOSTS'),
  );
  addNotificationOptions(command);
  command.action(async (_options: unknown, cmd: Command) => {
    const flags = parseControllerFlags(cmd.optsWithGlobals());
    const log = createLogger({ level: flags.logLevel, name: 'sluice-controller' });
    const kube = connect(loadKubeConfigOrFail(flags.kubeconfig));
    const namespaces = flags.watchNamespaces
      ? flags.watchNamespaces
          .split(',')
          .map((ns) => ns.trim())
          .filter(Boolean)
      : flags.namespace
        ? [flags.namespace]
        : undefined;
    const identity = `${process.env.POD_NAME ?? hostname()}-${process.pid}`;
    const urlPolicy = urlPolicyOf(flags);
    const notifierDeps = urlPolicy ? { urlPolicy } : {};
    const events = new EventRecorder({ kube, component: 'sluice', instance: identity, logger: log });
    const handlers: HttpHandler[] = [];
    if (flags.slackSigningSecretFile) {
      if (!flags.slackUsersFile) {
        throw new Error(
          '--slack-signing-secret-file needs --slack-users-file: the Slack users who may press which button',
        );
      }
      // Loaded only when asked for, like the dashboard.
      const chatops = await import('../chatops/setup.ts');
      handlers.push(
        await chatops.slackHandlerFromFiles({
          kube,
          events,
          log,
          signingSecretFile: flags.slackSigningSecretFile,
          usersFile: flags.slackUsersFile,
        }),
      );
    }
    const controller = await startController({
      kube,
      log,
      events,
      notifications: new Notifications({
        resolve: kubeNotifierResolver(kube, notifierDeps),
        global: notifiersOf(
          { ...flags, slackInteractive: Boolean(flags.slackSigningSecretFile) },
          notifierDeps,
        ),
        logger: log,
      }),
      ...(namespaces ? { namespaces } : {}),
      ...(flags.shard !== undefined ? { shard: flags.shard } : {}),
      defaultProvider: flags.meshProvider,
      metricsServer: flags.metricsServer,
      ...(flags.clusterName ? { clusterName: flags.clusterName } : {}),
      ...(flags.eventWebhook ? { globalEventWebhook: flags.eventWebhook } : {}),
      ...(flags.stepEvents ? { stepEvents: true } : {}),
      webhookDeps: { readSecret: kubeSecretReader(kube), logger: log, ...(urlPolicy ? { urlPolicy } : {}) },
      concurrency: flags.concurrency,
      resyncMs: flags.resync,
      ...(flags.metricBatchWindow > 0
        ? { analysis: { batcher: createQueryBatcher({ windowMs: flags.metricBatchWindow, logger: log }) } }
        : {}),
      leaderElection: {
        enabled: flags.leaderElect,
        namespace: flags.leaderElectionNamespace,
        name: shardLeaseName(flags.leaderElectionId, flags.shard),
        identity,
        leaseDurationMs: flags.leaseDuration,
      },
      http: { port: flags.port, handlers },
      preflight: { kubeconfigSource: kubeconfigSource(flags.kubeconfig) },
      onFatal: (error) => {
        log.error({ err: error }, error.message);
        process.stderr.write(`sluice: ${error.message}\n`);
        void controller.stop().finally(() => process.exit(1));
      },
    });
    log.info({ port: flags.port, leaderElection: flags.leaderElect, identity }, 'sluice controller started');
    let dashboard: { stop(): Promise<void> } | undefined;
    if (flags.dashboardAddress) {
      const { host, port } = parseAddress(flags.dashboardAddress, '--dashboard-address');
      const { serveDashboard } = await import('../dashboard/server.ts');
      const served = await serveDashboard({
        kube,
        log,
        namespaces,
        readOnly: Boolean(flags.dashboardReadOnly),
        auth: 'token',
        prometheusUrl: flags.metricsServer,
        port,
        host,
      });
      dashboard = served;
      log.info({ url: served.url }, 'dashboard serving');
    }
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down');
      Promise.all([controller.stop(), dashboard?.stop()]).then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

/**
 * --allowed-url-hosts, or a StartupError naming it; the operator's own URLs must pass the
 * list too, or the controller does not start (a StartupError naming their flag).
 */
function urlPolicyOf(flags: ControllerFlags): UrlPolicy | undefined {
  if (!flags.allowedUrlHosts) return undefined;
  try {
    const policy = parseUrlPolicy(flags.allowedUrlHosts);
    for (const [flag, url] of [
      ['--slack-url', flags.slackUrl],
      ['--msteams-url', flags.msteamsUrl],
      ['--event-webhook', flags.eventWebhook],
    ] as const) {
      if (url) checkUrl(policy, url, flag);
    }
    return policy;
  } catch (error) {
    throw new StartupError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
