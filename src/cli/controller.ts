import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { durationMs } from '../api/duration.ts';
import { startController } from '../controller/controller.ts';
import { kubeSecretReader } from '../hooks/webhook.ts';
import { checkUrl, parseUrlPolicy, URL_POLICY_FLAG, type UrlPolicy } from '../hooks/url-policy.ts';
import { connect, loadKubeConfig } from '../kube/client.ts';
import { createLogger } from '../log.ts';
import { kubeNotifierResolver, Notifications } from '../notify/dispatcher.ts';
import { EventRecorder } from '../notify/events.ts';
import { addNotificationOptions, globalNotifiers, type GlobalNotifyOptions } from '../notify/global.ts';

interface ControllerFlags extends GlobalNotifyOptions {
  kubeconfig?: string;
  namespace?: string;
  watchNamespaces?: string;
  meshProvider: string;
  metricsServer: string;
  logLevel: string;
  port: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDuration: string;
  concurrency: number;
  resync: string;
  stepEvents?: boolean;
  allowedUrlHosts?: string;
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
      new Option('--port <port>', 'port of /metrics, /healthz and /readyz').default(8080).argParser(Number),
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
    .addOption(new Option('--concurrency <n>', 'canaries reconciled at once').default(32).argParser(Number))
    .addOption(new Option('--resync <duration>', 'reconcile every canary at least this often').default('5m'))
    .addOption(
      new Option(
        '--step-events',
        'also record each routine step (weight, iteration, pause) as a Kubernetes Event; status always shows it',
      ).env('STEP_EVENTS'),
    );
  command.addOption(
    new Option(
      `${URL_POLICY_FLAG} <list>`,
      'hosts webhooks and notifications may call: cluster-local (*.svc, *.svc.cluster.local), host names, *.domain, IPs, CIDRs (default: any)',
    ).env('ALLOWED_URL_HOSTS'),
  );
  addNotificationOptions(command);
  command.action(async (_options: unknown, cmd: Command) => {
    const flags = cmd.optsWithGlobals<ControllerFlags>();
    const log = createLogger({ level: flags.logLevel, name: 'sluice-controller' });
    const kube = connect(loadKubeConfig(flags.kubeconfig));
    const namespaces = flags.watchNamespaces
      ? flags.watchNamespaces
          .split(',')
          .map((ns) => ns.trim())
          .filter(Boolean)
      : flags.namespace
        ? [flags.namespace]
        : undefined;
    const identity = `${process.env.POD_NAME ?? hostname()}-${process.pid}`;
    const urlPolicy = flags.allowedUrlHosts ? parseUrlPolicy(flags.allowedUrlHosts) : undefined;
    checkGlobalUrls(urlPolicy, flags);
    const notifierDeps = urlPolicy ? { urlPolicy } : {};
    const controller = await startController({
      kube,
      log,
      events: new EventRecorder({ kube, component: 'sluice', instance: identity, logger: log }),
      notifications: new Notifications({
        resolve: kubeNotifierResolver(kube, notifierDeps),
        global: globalNotifiers(flags, notifierDeps),
        logger: log,
      }),
      ...(namespaces ? { namespaces } : {}),
      defaultProvider: flags.meshProvider,
      metricsServer: flags.metricsServer,
      ...(flags.clusterName ? { clusterName: flags.clusterName } : {}),
      ...(flags.eventWebhook ? { globalEventWebhook: flags.eventWebhook } : {}),
      ...(flags.stepEvents ? { stepEvents: true } : {}),
      webhookDeps: { readSecret: kubeSecretReader(kube), logger: log, ...(urlPolicy ? { urlPolicy } : {}) },
      concurrency: flags.concurrency,
      resyncMs: durationMs(flags.resync, '--resync'),
      leaderElection: {
        enabled: flags.leaderElect,
        namespace: flags.leaderElectionNamespace,
        name: flags.leaderElectionId,
        identity,
        leaseDurationMs: durationMs(flags.leaseDuration, '--lease-duration'),
      },
      http: { port: flags.port },
    });
    log.info({ port: flags.port, leaderElection: flags.leaderElect, identity }, 'sluice controller started');
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down');
      controller.stop().then(
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

/** The operator's own URLs must pass the list too: refused at start, naming the flag. */
function checkGlobalUrls(policy: UrlPolicy | undefined, flags: ControllerFlags): void {
  for (const [flag, url] of [
    ['--slack-url', flags.slackUrl],
    ['--msteams-url', flags.msteamsUrl],
    ['--event-webhook', flags.eventWebhook],
  ] as const) {
    if (url) checkUrl(policy, url, flag);
  }
}
