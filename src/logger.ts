// Structured JSON logs (pino). Secrets never reach a log line: callers log ids and hashes only,
// and the redact list below catches the usual field names if one slips through.

import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'warrant' },
      redact: {
        paths: [
          '*.password', '*.client_secret', '*.secret', '*.refresh_token', '*.access_token', '*.code', '*.code_verifier',
          'req.headers.authorization', 'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}

/** A logger that drops everything (library default when the host app passes none). */
export const silentLogger: Logger = pino({ level: 'silent' });
