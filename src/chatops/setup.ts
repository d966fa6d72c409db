import { readFile } from 'node:fs/promises';
import type { HttpHandler } from '../controller/server.ts';
import type { Kube } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { EventRecorder } from '../notify/events.ts';
import { parseAllowlist } from './allowlist.ts';
import { slackInteractionHandler } from './interactions.ts';

/** Reads the signing secret and the users file (never logged) and builds the handler. */
export async function slackHandlerFromFiles(options: {
  kube: Kube;
  events: EventRecorder;
  log: Logger;
  signingSecretFile: string;
  usersFile: string;
}): Promise<HttpHandler> {
  const secret = (
    await readFile(options.signingSecretFile, 'utf8').catch((error: unknown) => {
      throw new Error(
        `--slack-signing-secret-file ${options.signingSecretFile}: ${error instanceof Error ? error.message : String(error)}`,
      );
    })
  ).trim();
  if (!secret) throw new Error(`--slack-signing-secret-file ${options.signingSecretFile}: the file is empty`);
  const users = await readFile(options.usersFile, 'utf8').catch((error: unknown) => {
    throw new Error(
      `--slack-users-file ${options.usersFile}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const allowlist = parseAllowlist(users, `--slack-users-file ${options.usersFile}`);
  options.log.info({ users: allowlist.size }, 'slack interactions accepted on /slack/interactions');
  return slackInteractionHandler({
    kube: options.kube,
    events: options.events,
    log: options.log,
    signingSecret: secret,
    allowlist,
  });
}
