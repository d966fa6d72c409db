import { parse } from 'yaml';
import { z } from 'zod';

// Who may press which Slack button: a YAML map from Slack user id to the buttons that
// user may press (`"*"` for every user). A user or a button not listed is refused.

export const SLACK_BUTTONS = ['approve', 'deny', 'rollback', 'pause'] as const;
export type SlackButton = (typeof SLACK_BUTTONS)[number];

const Entry = z.preprocess((v) => (v === 'all' ? [...SLACK_BUTTONS] : v), z.array(z.enum(SLACK_BUTTONS)));
const File = z.record(z.string(), Entry);
const USER = /^(\*|[A-Z0-9]{2,32})$/;

export type SlackAllowlist = ReadonlyMap<string, ReadonlySet<SlackButton>>;

/** Parses the users file; errors name the file and the entry. */
export function parseAllowlist(text: string, source: string): SlackAllowlist {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new Error(`${source}: not YAML: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const parsed = File.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(
      `${source}: ${issue.path.map(String).join('.') || '(top)'}: ${issue.message}; expected "<slack user id>: [${SLACK_BUTTONS.join(', ')}]" or "all"`,
    );
  }
  for (const user of Object.keys(parsed.data)) {
    if (!USER.test(user))
      throw new Error(`${source}: ${user}: expected a Slack user id like U012ABCDEF, or *`);
  }
  for (const user of Object.keys(parsed.data)) {
    if (!USER.test(user))
      throw new Error(`${source}: ${user}: expected a Slack user id like U012ABCDEF, or *`);
  }
  return new Map(Object.entries(parsed.data).map(([user, buttons]) => [user, new Set<SlackButton>(buttons)]));
}

export function mayPress(allowlist: SlackAllowlist, user: string, button: SlackButton): boolean {
  return Boolean(allowlist.get(user)?.has(button) || allowlist.get('*')?.has(button));
}
