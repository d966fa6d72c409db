import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CanarySpec } from '../api/canary.ts';
import type { Command } from '../api/commands.ts';
import { requestCommand, recordGateAnswer, type ActionDeps, type CanaryRef } from '../dashboard/actions.ts';
import { apiErrorMessage, isNotFound } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { mayPress, SLACK_BUTTONS, type SlackAllowlist, type SlackButton } from './allowlist.ts';
import { ACTION_PREFIX, ButtonValue, type Gate } from './buttons.ts';
import { ReplayGuard, verifySlackRequest } from './signature.ts';

// Slack's interaction callbacks (a button pressed in a Sluice message), received on the
// controller's HTTP server. Nothing is read from a request before its signature checks out;
// a bad or replayed one gets 401 and changes nothing. The press is then checked against the
// allowlist, carried out with the same commands as the CLI, and answered in the channel
// with who did what.

export const SLACK_INTERACTIONS_PATH = '/slack/interactions';
const MAX_BODY = 64 * 1024;

const Interaction = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
  response_url: z.url({ protocol: /^https?$/ }).optional(),
});

export interface SlackInteractionDeps extends ActionDeps {
  signingSecret: string;
  allowlist: SlackAllowlist;
  log: Logger;
  /** Posts the answer to Slack's response_url (replaced in tests only by a real loopback server). */
  fetch?: typeof fetch;
  nowSeconds?: () => number;
}

export interface Outcome {
  ok: boolean;
  /** The line posted back to the channel. */
  text: string;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const header = (request: IncomingMessage, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const PAST: Record<SlackButton, string> = {
  approve: 'approved',
  deny: 'denied',
  rollback: 'rolled back',
  pause: 'paused',
};

/** The load tester's gate behind a webhook URL (`…/gate/check`), as its base URL. */
export function loadTesterGate(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (!/\/gate\/check\/?$/.test(parsed.pathname)) return undefined;
    parsed.pathname = parsed.pathname.replace(/\/gate\/check\/?$/, '');
    parsed.search = '';
    return parsed.href.replace(/\/$/, '');
  } catch {
    return undefined;
  }
}

async function setLoadTesterGates(
  deps: SlackInteractionDeps,
  bases: string[],
  canary: CanaryRef,
  open: boolean,
): Promise<void> {
  for (const base of bases) {
    const response = await (deps.fetch ?? fetch)(`${base}/gate/${open ? 'open' : 'close'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: canary.name, namespace: canary.namespace, phase: '', checksum: '' }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`the load tester gate at ${base} answered ${response.status}`);
  }
}

/** The gates of this type the Canary has that Sluice's load tester keeps. */
async function gatesOf(deps: SlackInteractionDeps, canary: CanaryRef, gate: Gate) {
  const object = (await deps.kube.wire.getObject({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Canary',
    metadata: canary,
  })) as { spec?: unknown };
  const spec = CanarySpec.safeParse(object.spec);
  if (!spec.success) throw new Error(`canary ${canary.namespace}/${canary.name} has an invalid spec`);
  const hooks = (spec.data.analysis.webhooks ?? []).filter((hook) => hook.type === gate);
  const bases = hooks.flatMap((hook) => loadTesterGate(hook.url) ?? []);
  return { hooks: hooks.length, bases };
}

/** Carries out one allowed press; throws with what went wrong. */
async function press(
  deps: SlackInteractionDeps,
  button: SlackButton,
  value: ButtonValue,
  actor: string,
  mention: string,
): Promise<string> {
  const canary = { namespace: value.namespace, name: value.name };
  const title = `${canary.name}.${canary.namespace}`;
  const command = async (verb: Command) => requestCommand(deps, canary, verb, { actor, via: 'Slack' });
  switch (button) {
    case 'rollback':
      await command('abort');
      return `${mention} rolled back ${title}`;
    case 'pause':
      await command('pause');
      return `${mention} paused ${title}`;
    case 'approve':
    case 'deny': {
      if (!value.gate) throw new Error(`the ${button} button of ${title} names no gate`);
      const { hooks, bases } = await gatesOf(deps, canary, value.gate);
      const open = button === 'approve';
      if (bases.length > 0) await setLoadTesterGates(deps, bases, canary, open);
      if (open && bases.length === 0) {
        // A confirm-promotion gate elsewhere: promoting now is what approving it means.
        if (value.gate !== 'confirm-promotion' || hooks === 0) {
          throw new Error(
            `${title} has no ${value.gate} gate kept by the Sluice load tester (…/gate/check); open it where it lives`,
          );
        }
        await command('promote');
      }
      await recordGateAnswer(deps, canary, { gate: value.gate, open }, { actor, via: 'Slack' });
      if (!open) await command('abort');
      return `${mention} ${PAST[button]} the ${value.gate} gate of ${title}${open ? '' : ' and rolled it back'}`;
    }
  }
}

async function answer(deps: SlackInteractionDeps, url: string | undefined, outcome: Outcome): Promise<void> {
  if (!url) return;
  try {
    const response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        response_type: outcome.ok ? 'in_channel' : 'ephemeral',
        replace_original: false,
        text: outcome.text,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) deps.log.warn({ status: response.status }, 'slack response_url refused the answer');
  } catch (error) {
    deps.log.warn({ err: error }, 'slack answer not delivered');
  }
}

/** Handles one verified interaction payload; the answer goes to its response_url. */
export async function handleInteraction(deps: SlackInteractionDeps, payload: unknown): Promise<Outcome> {
  const parsed = Interaction.safeParse(payload);
  if (!parsed.success) return { ok: false, text: 'Sluice did not understand this interaction.' };
  const { user, actions } = parsed.data;
  const action = actions.find((a) => a.action_id.startsWith(ACTION_PREFIX));
  const mention = `<@${user.id}>`;
  let outcome: Outcome;
  const button = action?.action_id.slice(ACTION_PREFIX.length) as SlackButton | undefined;
  const value = (() => {
    try {
      return ButtonValue.safeParse(JSON.parse(action?.value ?? ''));
    } catch {
      return undefined;
    }
  })();
  if (!button || !(SLACK_BUTTONS as readonly string[]).includes(button) || !value?.success) {
    outcome = { ok: false, text: 'Sluice did not recognise this button.' };
  } else if (!mayPress(deps.allowlist, user.id, button)) {
    deps.log.warn(
      { user: user.id, button, canary: `${value.data.namespace}/${value.data.name}` },
      'slack press refused: not in the allowlist',
    );
    outcome = {
      ok: false,
      text: `${mention} may not press ${button} (not in Sluice's Slack allowlist). Nothing was changed.`,
    };
  } else {
    const actor = `${user.username ?? user.name ?? user.id} (${user.id})`;
    try {
      outcome = { ok: true, text: await press(deps, button, value.data, actor, mention) };
      deps.log.info(
        { user: user.id, button, canary: `${value.data.namespace}/${value.data.name}` },
        'slack press carried out',
      );
    } catch (error) {
      const reason = isNotFound(error)
        ? `canary ${value.data.namespace}/${value.data.name} not found`
        : error instanceof Error
          ? error.message
          : apiErrorMessage(error);
      outcome = { ok: false, text: `${mention} pressed ${button}, but it failed: ${reason}` };
    }
  }
  await answer(deps, parsed.data.response_url, outcome);
  return outcome;
}

/** The request handler for the controller's HTTP server; false for other paths. */
export function slackInteractionHandler(deps: SlackInteractionDeps) {
  const replays = new ReplayGuard();
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const refuse = (response: ServerResponse, reason: string) => {
    deps.log.warn({ reason }, 'slack request refused');
    response.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request signature');
  };
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if ((request.url ?? '').split('?')[0] !== SLACK_INTERACTIONS_PATH) return false;
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
      return true;
    }
    void (async () => {
      let body: string;
      try {
        body = await readBody(request);
      } catch {
        return refuse(response, 'body too large or unreadable');
      }
      const timestamp = header(request, 'x-slack-request-timestamp');
      const signature = header(request, 'x-slack-signature');
      const verdict = verifySlackRequest(deps.signingSecret, { timestamp, signature, body }, now());
      if (!verdict.ok) return refuse(response, verdict.reason);
      if (!replays.firstUse(signature!, Number(timestamp), now()))
        return refuse(response, 'replayed request');
      const form = new URLSearchParams(body);
      let payload: unknown;
      try {
        payload = JSON.parse(form.get('payload') ?? '');
      } catch {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('payload is not JSON');
        return;
      }
      // Slack wants an answer within 3 s; the outcome follows on response_url.
      response.writeHead(200).end();
      await handleInteraction(deps, payload);
    })().catch((error: unknown) => {
      deps.log.error({ err: error }, 'slack interaction failed');
      if (!response.headersSent) response.writeHead(500).end();
    });
    return true;
  };
}
