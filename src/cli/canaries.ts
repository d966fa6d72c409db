import { HttpMethod } from '../kube/library.ts';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  commandAnnotations,
  COMMANDS,
  newCommandId,
  type Command as CanaryCommand,
} from '../api/commands.ts';
import type { WatchedEvent } from '../dashboard/model.ts';
import { apiErrorMessage, connect, isNotFound, loadKubeConfig, type Kube } from '../kube/client.ts';
import { isTerminal, renderStatus, renderTable, type CanaryView, type EventView } from './render.ts';

const GROUP_PATH = '/apis/sluice.dev/v1alpha1';

interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output?: 'json' | 'yaml' | 'table';
}

function clientFor(options: GlobalOptions): { kube: Kube; namespace: string } {
  const kc = loadKubeConfig(options.kubeconfig);
  const namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kube: connect(kc), namespace };
}

async function getCanary(kube: Kube, namespace: string, name: string): Promise<CanaryView> {
  try {
    return await kube.wire.request<CanaryView>(
      HttpMethod.GET,
      `${GROUP_PATH}/namespaces/${namespace}/canaries/${name}`,
    );
  } catch (error) {
    if (isNotFound(error)) throw new CliError(`canary ${namespace}/${name} not found`, 3);
    throw new CliError(`reading canary ${namespace}/${name}: ${apiErrorMessage(error)}`, 3);
  }
}

async function listEvents(kube: Kube, namespace: string, name: string): Promise<EventView[]> {
  const list = await kube.wire.request<{ items: WatchedEvent[] }>(
    HttpMethod.GET,
    `/api/v1/namespaces/${namespace}/events`,
    {
      query: { fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}` },
    },
  );
  return list.items
    .map((e) => ({
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: e.count,
      time: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp,
    }))
    .sort((a, b) => Date.parse(a.time ?? '0') - Date.parse(b.time ?? '0'));
}

/** An error with the exit code a CI script can act on. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

function print(value: unknown, output: GlobalOptions['output']): void {
  process.stdout.write(output === 'yaml' ? stringify(value) : `${JSON.stringify(value, null, 2)}\n`);
}

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Sets the command annotations that the controller acts on once per id. */
export async function sendCommand(
  kube: Kube,
  namespace: string,
  name: string,
  command: CanaryCommand,
  fieldManager = 'sluice-cli',
): Promise<string> {
  await getCanary(kube, namespace, name);
  const id = newCommandId(new Date());
  await kube.wire.mergePatchObject(
    { apiVersion: 'sluice.dev/v1alpha1', kind: 'Canary', metadata: { name, namespace } },
    { metadata: { annotations: commandAnnotations(command, id) } },
    { fieldManager },
  );
  return id;
}

const COMMAND_HELP: Record<CanaryCommand, string> = {
  promote: 'skip the remaining steps and promote the canary now',
  abort: 'roll the canary back now; it stays Failed until a new revision or retry',
  pause: 'hold the canary at its current step (checks keep running)',
  resume: 'continue a paused canary, or release a pause-until-promoted step',
  retry: 'run the analysis of a Failed canary again without a new revision',
};

export function registerCanaryCommands(program: Command): void {
  program
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('-n, --namespace <ns>', 'namespace (default: the context namespace)')
    .option('-o, --output <format>', 'json | yaml | table');

  program
    .command('get')
    .description('list canaries: phase, weight, failed checks, last transition')
    .option('-A, --all-namespaces', 'list canaries in every namespace')
    .action(async (options: { allNamespaces?: boolean }, command: Command) => {
      const opts = globals(command);
      const { kube, namespace } = clientFor(opts);
      const path = options.allNamespaces
        ? `${GROUP_PATH}/canaries`
        : `${GROUP_PATH}/namespaces/${namespace}/canaries`;
      const list = await kube.wire.request<{ items: CanaryView[] }>(HttpMethod.GET, path);
      if (opts.output === 'json' || opts.output === 'yaml') return print(list.items, opts.output);
      process.stdout.write(`${renderTable(list.items, Date.now(), Boolean(options.allNamespaces))}\n`);
    });

  program
    .command('status <canary>')
    .description('show a canary: phase, weight, analysis results, recent events')
    .option('-w, --watch', 'follow the canary until it succeeds (exit 0) or fails (exit 1)')
    .option('--timeout <seconds>', 'with --watch: give up after this long (exit 2)', (v) => Number(v), 1800)
    .option('--interval <ms>', 'with --watch: refresh interval', (v) => Number(v), 1000)
    .action(
      async (
        name: string,
        options: { watch?: boolean; timeout: number; interval: number },
        command: Command,
      ) => {
        const opts = globals(command);
        const { kube, namespace } = clientFor(opts);
        const show = async () => {
          const canary = await getCanary(kube, namespace, name);
          const events = await listEvents(kube, namespace, name).catch(() => []);
          return { canary, screen: renderStatus(canary, events, Date.now()) };
        };
        if (!options.watch) {
          const { canary, screen } = await show();
          if (opts.output === 'json' || opts.output === 'yaml') return print(canary, opts.output);
          process.stdout.write(`${screen}\n`);
          return;
        }
        const deadline = Date.now() + options.timeout * 1000;
        const tty = process.stdout.isTTY;
        let last = '';
        for (;;) {
          const { canary, screen } = await show();
          if (screen !== last) {
            // On a terminal redraw in place; in a log (CI) print each new frame once.
            process.stdout.write(tty ? `\x1b[H\x1b[2J${screen}\n` : `${screen}\n\n`);
            last = screen;
          }
          const outcome = isTerminal(canary.status?.phase);
          if (outcome === 'succeeded') return;
          if (outcome === 'failed') throw new CliError(`canary ${namespace}/${name} failed`, 1);
          if (Date.now() > deadline) {
            throw new CliError(
              `timed out after ${options.timeout}s; canary ${namespace}/${name} is ${canary.status?.phase ?? 'Pending'}`,
              2,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, options.interval));
        }
      },
    );

  for (const verb of COMMANDS) {
    program
      .command(`${verb} <canary>`)
      .description(COMMAND_HELP[verb])
      .action(async (name: string, _options: unknown, command: Command) => {
        const { kube, namespace } = clientFor(globals(command));
        const id = await sendCommand(kube, namespace, name, verb);
        process.stdout.write(`${verb} requested for canary ${namespace}/${name} (command id ${id})\n`);
      });
  }
}
