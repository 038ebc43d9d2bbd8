// Structured JSON logs (pino). Secrets never reach a log line: callers log ids and hashes only,
// and the redact list below catches the usual field names if one slips through.

import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'warrant' },
      serializers: { err: serializeError },
      redact: {
        paths: [
          '*.password', '*.client_secret', '*.secret', '*.refresh_token', '*.access_token', '*.code_verifier',
          'body.code', 'req.headers.authorization', 'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}

/**
 * Only the fields that help an operator: driver errors carry whole client objects (with
 * connection parameters) as enumerable properties, which must not reach a log line.
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code, detail, severity } = error as Error & { code?: unknown; detail?: unknown; severity?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof severity === 'string' ? { severity } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
    stack: error.stack,
    ...(error.cause ? { cause: serializeError(error.cause) } : {}),
  };
}

/** A logger that drops everything (library default when the host app passes none). */
export const silentLogger: Logger = pino({ level: 'silent' });
