// Every setting Warrant reads, its environment variable, its default and why (STYLE §4).
// Nothing else in the code base reads process.env. Each setting is described once, in the table
// below; the Config type is derived from it (a setting's value has the type its parse returns).

import path from 'node:path';
import { GRANT_TYPES, type GrantType } from './events/types.js';

/**
 * What a default may derive from: the settings earlier in the table (the issuer from PORT, the
 * audience from ISSUER). Named here rather than as Partial<Config>, which is derived from the table.
 */
interface Earlier {
  port?: number;
  issuer?: string;
}

interface SettingSpec<T> {
  env: string;
  description: string;
  /** Shown in docs and `warrant config`. */
  defaultText: string;
  parse(raw: string | undefined, partial: Earlier): T;
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

/** `true` or `false` (unset: false). */
function boolean(name: string) {
  return (raw: string | undefined): boolean => {
    const value = optional(raw) ?? 'false';
    if (value !== 'true' && value !== 'false') throw new ConfigError(`${name} must be true or false, got "${value}"`);
    return value === 'true';
  };
}

function optional(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' ? undefined : raw;
}

export class ConfigError extends Error {
  readonly code = 'ERR_WARRANT_CONFIG';
}

// Order matters: later settings may derive their default from earlier ones (issuer from port).
const table = {
  databaseUrl: {
    env: 'DATABASE_URL',
    description: 'PostgreSQL connection string for read models (and events when EVENTSTORE_URL is unset).',
    defaultText: 'embedded PostgreSQL under WARRANT_STORAGE (development only)',
    parse: optional,
    secret: true,
  },
  eventStoreUrl: {
    env: 'EVENTSTORE_URL',
    description: 'EventStoreDB connection string (esdb://…). Production event store.',
    defaultText: 'the PostgreSQL event store in DATABASE_URL',
    parse: optional,
    secret: true,
  },
  port: {
    env: 'PORT',
    description: 'HTTP port of `warrant serve`.',
    defaultText: '8080',
    parse: integer('PORT', 8080, 0, 65535),
  },
  host: {
    env: 'HOST',
    description: 'Address `warrant serve` listens on.',
    defaultText: '127.0.0.1',
    parse: (raw) => optional(raw) ?? '127.0.0.1',
  },
  issuer: {
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
  storage: {
    env: 'WARRANT_STORAGE',
    description: 'Folder for signing keys and the embedded database.',
    defaultText: './storage',
    parse: (raw) => path.resolve(optional(raw) ?? './storage'),
  },
  embeddedPostgresPort: {
    env: 'WARRANT_EMBEDDED_PG_PORT',
    description: 'Port of the embedded PostgreSQL. When another program holds it, a free port is used and announced (an embedded PostgreSQL orphaned by a killed Warrant is stopped instead).',
    defaultText: '54329',
    // Deliberately not 5432: a PostgreSQL the developer already runs is left alone.
    parse: integer('WARRANT_EMBEDDED_PG_PORT', 54329, 1, 65535),
  },
  logLevel: {
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
  projectionWaitTimeoutMs: {
    env: 'WARRANT_PROJECTION_WAIT_MS',
    description: 'How long a write (e.g. a revocation) waits for the read models before answering 503.',
    defaultText: '5000',
    parse: integer('WARRANT_PROJECTION_WAIT_MS', 5000, 1, 600_000),
  },
  appendBatchSize: {
    env: 'WARRANT_APPEND_BATCH',
    description: 'Most events grouped into one PostgreSQL append transaction.',
    defaultText: '500',
    parse: integer('WARRANT_APPEND_BATCH', 500, 1, 10_000),
  },
  poolSize: {
    env: 'WARRANT_POOL_SIZE',
    description: 'PostgreSQL connections per process.',
    defaultText: '10',
    parse: integer('WARRANT_POOL_SIZE', 10, 2, 1000),
  },
  audience: {
    env: 'WARRANT_AUDIENCE',
    description: 'Default audience of access tokens (RFC 8707: used when the client names no resource).',
    defaultText: 'the issuer',
    parse: (raw, partial) => optional(raw) ?? partial.issuer!,
  },
  accessTokenTtl: {
    env: 'WARRANT_ACCESS_TOKEN_TTL',
    description: 'Access-token lifetime in seconds (a client may have its own).',
    defaultText: '3600',
    parse: integer('WARRANT_ACCESS_TOKEN_TTL', 3600, 1, 86_400 * 7),
  },
  refreshTokenTtl: {
    env: 'WARRANT_REFRESH_TOKEN_TTL',
    description: 'Refresh-token lifetime in seconds (a client may have its own).',
    defaultText: '2592000 (30 days)',
    parse: integer('WARRANT_REFRESH_TOKEN_TTL', 30 * 86_400, 60, 10 * 365 * 86_400),
  },
  refreshGraceSeconds: {
    env: 'WARRANT_REFRESH_GRACE_SECONDS',
    description: 'Seconds a rotated refresh token stays usable by its own client (for retries); 0 means any reuse revokes the family.',
    defaultText: '0',
    parse: integer('WARRANT_REFRESH_GRACE_SECONDS', 0, 0, 300),
  },
  pepper: {
    env: 'WARRANT_PEPPER',
    description: 'Server pepper for keyed hashes of client secrets, refresh tokens and codes (base64url, at least 32 bytes). Every node must share it.',
    defaultText: 'WARRANT_STORAGE/pepper, created by `warrant install`',
    parse: (raw) => {
      const value = optional(raw);
      if (value !== undefined && Buffer.from(value, 'base64url').length < 32) throw new ConfigError('WARRANT_PEPPER must be base64url of at least 32 bytes');
      return value;
    },
    secret: true,
  },
  signingKey: {
    env: 'WARRANT_SIGNING_KEY',
    description: 'Signing key as PEM (PKCS#8) or a private JWK, so several nodes share it.',
    defaultText: 'keys in WARRANT_STORAGE/keys, created by `warrant install`',
    parse: optional,
    secret: true,
  },
  signingKeyAlg: {
    env: 'WARRANT_SIGNING_KEY_ALG',
    description: 'Algorithm of WARRANT_SIGNING_KEY: ES256, RS256 or EdDSA.',
    defaultText: 'ES256',
    parse: (raw) => {
      const value = optional(raw) ?? 'ES256';
      if (value !== 'ES256' && value !== 'RS256' && value !== 'EdDSA') throw new ConfigError(`WARRANT_SIGNING_KEY_ALG must be ES256, RS256 or EdDSA; got "${value}"`);
      return value;
    },
  },
  scopes: {
    env: 'WARRANT_SCOPES',
    description: 'Known scopes with descriptions, as JSON {"scope": "description"}; published in metadata.',
    defaultText: '{}',
    parse: (raw) => {
      const value = optional(raw);
      if (value === undefined) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new ConfigError('WARRANT_SCOPES must be JSON like {"read": "Read your data"}');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
        throw new ConfigError('WARRANT_SCOPES must be a JSON object of strings');
      }
      return parsed as Record<string, string>;
    },
  },
  adminSubjects: {
    env: 'WARRANT_ADMIN_SUBJECTS',
    description: 'Comma-separated subject ids (users\' ids, as in `warrant user list`) who may hold the privileged scopes warrant:admin and warrant:audit in their personal access tokens. Otherwise only clients acting for themselves (client_credentials) get them.',
    defaultText: 'none',
    parse: (raw) => {
      const value = optional(raw);
      if (value === undefined) return [];
      const subjects = value.split(',').map((s) => s.trim()).filter(Boolean);
      if (subjects.some((s) => s.length > 255 || /[\s\x00-\x1f]/.test(s))) throw new ConfigError('WARRANT_ADMIN_SUBJECTS must be comma-separated subject ids');
      return subjects;
    },
  },
  bodyLimit: {
    env: 'WARRANT_BODY_LIMIT',
    description: 'Largest request body accepted, in bytes (larger: 413).',
    defaultText: '65536',
    parse: integer('WARRANT_BODY_LIMIT', 65_536, 1024, 10 * 1024 * 1024),
  },
  authorizationCodeTtl: {
    env: 'WARRANT_CODE_TTL',
    description: 'Authorization-code lifetime in seconds (RFC 6749 §4.1.2 recommends at most 10 minutes).',
    defaultText: '60',
    parse: integer('WARRANT_CODE_TTL', 60, 1, 600),
  },
  passwordGrant: {
    env: 'WARRANT_PASSWORD_GRANT',
    description: 'Enable the legacy password grant (RFC 6749 §4.3; discouraged by RFC 9700 §2.4) for clients allowed it: true or false.',
    defaultText: 'false',
    parse: boolean('WARRANT_PASSWORD_GRANT'),
  },
  sessionTtl: {
    env: 'WARRANT_SESSION_TTL',
    description: 'Lifetime of a sign-in session on the built-in login page, in seconds. Sessions are server-side: POST /oauth/logout or revoking the subject ends them at once.',
    defaultText: '43200 (12 hours)',
    parse: integer('WARRANT_SESSION_TTL', 12 * 3600, 60, 30 * 86_400),
  },
  requirePar: {
    env: 'WARRANT_REQUIRE_PAR',
    description: 'Accept authorization requests only through pushed authorization requests (RFC 9126 §5), for every client: true or false.',
    defaultText: 'false',
    parse: boolean('WARRANT_REQUIRE_PAR'),
  },
  dpopNonce: {
    env: 'WARRANT_DPOP_NONCE',
    description: 'Require a server-provided nonce in DPoP proofs at the token endpoint (RFC 9449 §8): true or false.',
    defaultText: 'false',
    parse: boolean('WARRANT_DPOP_NONCE'),
  },
  auditStreamHeartbeatSeconds: {
    env: 'WARRANT_AUDIT_STREAM_HEARTBEAT',
    description: 'Seconds between comment heartbeats on GET /audit/stream (proxies drop silent connections).',
    defaultText: '15',
    parse: integer('WARRANT_AUDIT_STREAM_HEARTBEAT', 15, 1, 15),
  },
  auditStreamBufferBytes: {
    env: 'WARRANT_AUDIT_STREAM_BUFFER',
    description: 'Bytes an audit-stream listener may fall behind before it is cut off (with a last message saying where to resume).',
    defaultText: '1048576 (1 MiB)',
    parse: integer('WARRANT_AUDIT_STREAM_BUFFER', 1024 * 1024, 1024, 256 * 1024 * 1024),
  },
  auditStreamsPerToken: {
    env: 'WARRANT_AUDIT_STREAMS_PER_TOKEN',
    description: 'Open GET /audit/stream connections allowed per access token, per node (429 beyond).',
    defaultText: '3',
    parse: integer('WARRANT_AUDIT_STREAMS_PER_TOKEN', 3, 1, 1000),
  },
  openRegistration: {
    env: 'WARRANT_OPEN_REGISTRATION',
    description: 'Let anyone register a client at the RFC 7591 registration endpoint, without an initial access token: true or false.',
    defaultText: 'false',
    parse: boolean('WARRANT_OPEN_REGISTRATION'),
  },
  registrationGrants: {
    env: 'WARRANT_REGISTRATION_GRANTS',
    description: 'Grant types a client may give itself at the registration endpoint, space- or comma-separated.',
    defaultText: 'authorization_code refresh_token',
    parse: (raw): GrantType[] => {
      const grants = (optional(raw) ?? 'authorization_code refresh_token').split(/[\s,]+/).filter(Boolean);
      const unknown = grants.filter((grant) => !(GRANT_TYPES as readonly string[]).includes(grant));
      if (unknown.length > 0) throw new ConfigError(`WARRANT_REGISTRATION_GRANTS: unknown grant type ${unknown.join(', ')} (known: ${GRANT_TYPES.join(', ')})`);
      return grants as GrantType[];
    },
  },
  idTokenTtl: {
    env: 'WARRANT_ID_TOKEN_TTL',
    description: 'OpenID Connect id-token lifetime in seconds.',
    defaultText: '3600',
    parse: integer('WARRANT_ID_TOKEN_TTL', 3600, 60, 86_400),
  },
  personalAccessTokenTtl: {
    env: 'WARRANT_PAT_TTL',
    description: 'Personal-access-token lifetime in seconds.',
    defaultText: '31536000 (1 year)',
    parse: integer('WARRANT_PAT_TTL', 365 * 86_400, 60, 10 * 365 * 86_400),
  },
  deviceCodeTtl: {
    env: 'WARRANT_DEVICE_CODE_TTL',
    description: 'Device-code lifetime in seconds (RFC 8628 §3.2 expires_in).',
    defaultText: '600',
    parse: integer('WARRANT_DEVICE_CODE_TTL', 600, 1, 3600),
  },
  deviceInterval: {
    env: 'WARRANT_DEVICE_INTERVAL',
    description: 'Minimum seconds between a device\'s token polls (RFC 8628 §3.2 interval); faster polls get slow_down.',
    defaultText: '5',
    parse: integer('WARRANT_DEVICE_INTERVAL', 5, 1, 60),
  },
  rateLimitFailures: {
    env: 'WARRANT_RATE_LIMIT_FAILURES',
    description: 'Failed client authentications per (client id, address) and per address, failed sign-ins (login form, password grant) per (username, address) and per address, and wrong device user codes per session and per address, allowed in a window and shared by every node through PostgreSQL; beyond it such requests get 429 with Retry-After until the window ends. Never per client or username alone (nobody can lock the owner out); a username failing from many addresses is slowed down instead. 0 = no limit.',
    defaultText: '100',
    parse: integer('WARRANT_RATE_LIMIT_FAILURES', 100, 0, 1_000_000),
  },
  rateLimitRequests: {
    env: 'WARRANT_RATE_LIMIT_REQUESTS',
    description: 'Requests to the token, revocation, introspection and device endpoints allowed per address, and per client once authenticated, in a window (429 with Retry-After beyond it); counted per node. 0 = no limit.',
    defaultText: '0 (no limit)',
    parse: integer('WARRANT_RATE_LIMIT_REQUESTS', 0, 0, 100_000_000),
  },
  rateLimitWindow: {
    env: 'WARRANT_RATE_LIMIT_WINDOW',
    description: 'Length of a rate-limit window in seconds.',
    defaultText: '60',
    parse: integer('WARRANT_RATE_LIMIT_WINDOW', 60, 1, 86_400),
  },
  trustedProxies: {
    env: 'WARRANT_TRUSTED_PROXIES',
    description: 'How many reverse proxies (load balancers) stand in front of Warrant and append to X-Forwarded-For. The client address (rate limits, logs) is then the entry the outermost of them appended; 0 ignores the header (a client could forge it).',
    defaultText: '0',
    parse: integer('WARRANT_TRUSTED_PROXIES', 0, 0, 10),
  },
  headersTimeoutMs: {
    env: 'WARRANT_HEADERS_TIMEOUT',
    description: 'Milliseconds a client may take to send the request headers; slower connections get 408 and are closed.',
    defaultText: '10000',
    parse: integer('WARRANT_HEADERS_TIMEOUT', 10_000, 100, 600_000),
  },
  requestTimeoutMs: {
    env: 'WARRANT_REQUEST_TIMEOUT',
    description: 'Milliseconds a client may take to send a whole request (headers and body); slower connections get 408 and are closed.',
    defaultText: '30000',
    parse: integer('WARRANT_REQUEST_TIMEOUT', 30_000, 100, 3_600_000),
  },
  metricsToken: {
    env: 'WARRANT_METRICS_TOKEN',
    description: 'When set, GET /metrics requires `Authorization: Bearer <this value>` (anything else: 401). Unset, /metrics is open to anyone who can reach it: only for a private network where Prometheus scrapes it.',
    defaultText: 'unset (/metrics open)',
    parse: (raw) => {
      const value = optional(raw);
      // A value a Bearer header can carry (RFC 6750 §2.1 b64token), long enough not to be guessed.
      if (value !== undefined && (value.length < 16 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(value))) {
        throw new ConfigError('WARRANT_METRICS_TOKEN must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (optionally ending in =)');
      }
      return value;
    },
    secret: true,
  },
  debug: {
    env: 'DEBUG',
    description: 'When it contains `warrant` (`DEBUG=warrant`), an error of the `warrant` command prints its stack trace after its one line.',
    defaultText: 'unset',
    parse: (raw) => raw?.includes('warrant') ?? false,
  },
  cliUser: {
    env: 'USER',
    description: 'Who runs the `warrant` command (the login name the shell sets): the events it appends record the actor `admin:cli:$USER`.',
    defaultText: 'unknown',
    parse: (raw) => raw ?? 'unknown',
  },
} satisfies Record<string, SettingSpec<unknown>>;

type Values = { [K in keyof typeof table]: ReturnType<(typeof table)[K]['parse']> };
/** Every setting's value; what each one means is its `description` in `settings`. */
export interface Config extends Values {}

interface Setting<K extends keyof Config = keyof Config> extends SettingSpec<Config[K]> {
  key: K;
}

/** The settings in order, each with its key, variable, description and default. */
export const settings: readonly Setting[] = (Object.keys(table) as (keyof Config)[]).map((key): Setting => ({ key, ...table[key] }));

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const partial: Partial<Config> = {};
  for (const setting of settings) {
    const override = overrides[setting.key];
    (partial as Record<string, unknown>)[setting.key] =
      override !== undefined ? override : setting.parse(env[setting.env], partial);
  }
  return partial as Config;
}

/**
 * One setting as the environment gives it, undefined when its variable is unset or empty: for a
 * caller with a default of its own (the CLI logs only warnings unless LOG_LEVEL says more), or one
 * that must not fail on the other settings (DEBUG, read while reporting a bad one). A value that
 * is given derives nothing from the settings before it.
 */
export function fromEnvironment<K extends keyof Config>(key: K, env: NodeJS.ProcessEnv = process.env): Config[K] | undefined {
  const setting = settings.find((s) => s.key === key)!;
  const raw = env[setting.env];
  return raw === undefined || raw === '' ? undefined : (setting.parse(raw, {}) as Config[K]);
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
