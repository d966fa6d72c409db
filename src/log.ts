import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stderr; SLUICE_LOG_LEVEL or the caller picks the level. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'sluice',
      level: options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info',
      // Never print credentials even if an object carrying them is logged by mistake.
      redact: {
        paths: ['*.token', '*.password', '*.headers.authorization', '*.headers.Authorization', 'secret'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
