// Every setting Warrant reads, its environment variable, its default and why (STYLE §4).
// Nothing else in the code base reads process.env.

import path from 'node:path';

export interface Config {
  /** PostgreSQL for read models (and events, with the embedded event store). Unset: embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /** esdb:// or kurrentdb:// connection string. Unset: events live in PostgreSQL. */
  eventStoreUrl: string | undefined;
  /** HTTP port of `warrant serve`. */
  port: number;
  /** Address `warrant serve` binds to. */
  host: string;
  /** The issuer identifier (RFC 8414 §2); tokens carry it in `iss`. */
  issuer: string;
  /** Folder for keys and the embedded database. */
  storage: string;
  /** Port of the embedded PostgreSQL (deliberately not 5432). */
  embeddedPostgresPort: number;
  /** pino log level. */
  logLevel: string;
  /** How long a writer waits for the projections to apply its events before giving up. */
  projectionWaitTimeoutMs: number;
  /** Most events the PostgreSQL event store appends in one transaction. */
  appendBatchSize: number;
  /** Size of the PostgreSQL connection pool. */
  poolSize: number;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  description: string;
  /** Shown in docs and `warrant config`. */
  defaultText: string;
  parse(raw: string | undefined, partial: Partial<Config>): Config[K];
  secret?: boolean;
}

function integer(name: string, fallback: number, min: number, max: number) {
  return (raw: string | undefined): number => {
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

function optional(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' ? undefined : raw;
}

export class ConfigError extends Error {
  readonly code = 'ERR_WARRANT_CONFIG';
}

// Order matters: later settings may derive their default from earlier ones (issuer from port).
export const settings: readonly Setting<keyof Config>[] = [
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    description: 'PostgreSQL connection string for read models (and events when EVENTSTORE_URL is unset).',
    defaultText: 'embedded PostgreSQL under WARRANT_STORAGE (development only)',
    parse: optional,
    secret: true,
  },
  {
    key: 'eventStoreUrl',
    env: 'EVENTSTORE_URL',
    description: 'EventStoreDB connection string (esdb://…). Production event store.',
    defaultText: 'the PostgreSQL event store in DATABASE_URL',
    parse: optional,
    secret: true,
  },
  {
    key: 'port',
    env: 'PORT',
    description: 'HTTP port of `warrant serve`.',
    defaultText: '8080',
    parse: integer('PORT', 8080, 0, 65535),
  },
  {
    key: 'host',
    env: 'HOST',
    description: 'Address `warrant serve` listens on.',
    defaultText: '127.0.0.1',
    parse: (raw) => optional(raw) ?? '127.0.0.1',
  },
  {
    key: 'issuer',
    env: 'ISSUER',
    description: 'Issuer identifier, an https URL in production (RFC 8414 §2).',
    defaultText: 'http://localhost:$PORT (development only)',
    parse: (raw, partial) => {
      const value = optional(raw) ?? `http://localhost:${partial.port ?? 8080}`;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigError(`ISSUER must be a URL, got "${value}"`);
      }
      if (url.search || url.hash) throw new ConfigError('ISSUER must not have a query or fragment (RFC 8414 §2)');
      return value.replace(/\/$/, '');
    },
  },
  {
    key: 'storage',
    env: 'WARRANT_STORAGE',
    description: 'Folder for signing keys and the embedded database.',
    defaultText: './storage',
    parse: (raw) => path.resolve(optional(raw) ?? './storage'),
  },
  {
    key: 'embeddedPostgresPort',
    env: 'WARRANT_EMBEDDED_PG_PORT',
    description: 'Port of the embedded PostgreSQL.',
    defaultText: '54329',
    parse: integer('WARRANT_EMBEDDED_PG_PORT', 54329, 1, 65535),
  },
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    description: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    defaultText: 'info',
    parse: (raw) => {
      const value = optional(raw) ?? 'info';
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(value)) {
        throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${value}"`);
      }
      return value;
    },
  },
  {
    key: 'projectionWaitTimeoutMs',
    env: 'WARRANT_PROJECTION_WAIT_MS',
    description: 'How long a write (e.g. a revocation) waits for the read models before answering 503.',
    defaultText: '5000',
    parse: integer('WARRANT_PROJECTION_WAIT_MS', 5000, 1, 600_000),
  },
  {
    key: 'appendBatchSize',
    env: 'WARRANT_APPEND_BATCH',
    description: 'Most events grouped into one PostgreSQL append transaction.',
    defaultText: '500',
    parse: integer('WARRANT_APPEND_BATCH', 500, 1, 10_000),
  },
  {
    key: 'poolSize',
    env: 'WARRANT_POOL_SIZE',
    description: 'PostgreSQL connections per process.',
    defaultText: '10',
    parse: integer('WARRANT_POOL_SIZE', 10, 2, 1000),
  },
];

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const partial: Partial<Config> = {};
  for (const setting of settings) {
    const override = overrides[setting.key];
    (partial as Record<string, unknown>)[setting.key] =
      override !== undefined ? override : setting.parse(env[setting.env], partial);
  }
  return partial as Config;
}

/** Warnings for development defaults that must never reach production (STYLE §4: say so loudly). */
export function insecureDefaults(config: Config): string[] {
  const warnings: string[] = [];
  if (config.databaseUrl === undefined) {
    warnings.push('DATABASE_URL is unset: using an embedded PostgreSQL under WARRANT_STORAGE (development only)');
  }
  if (config.issuer.startsWith('http://')) {
    warnings.push(`ISSUER ${config.issuer} is not https (development only)`);
  }
  return warnings;
}

/** The effective configuration with secrets redacted, for `warrant config` and start-up logs. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const setting of settings) {
    const value = config[setting.key];
    out[setting.env] = setting.secret && value !== undefined ? redactUrl(String(value)) : value;
  }
  return out;
}

function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '***';
  }
}
