// One OAuth error module (STYLE §2, RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1).
// `error_description` is public and written by us; `detail` is for the log only.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'request_not_supported'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'access_denied'
  | 'not_found'
  | 'request_too_large'
  | 'temporarily_unavailable'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'server_error';

export class OAuthError extends Error {
  readonly expose = true;
  headers: Record<string, string> = {};
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** Logged, never sent. */
    readonly detail?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }

  body(): Record<string, string> {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * The plain RFC 6749 §5.2 / RFC 7591 §3.2.2 errors: a class each (`instanceof` and subclassing
 * work), with the status and a default public description; `detail` is for the log only.
 */
function simpleError(status: number, error: OAuthErrorCode, fallback: string) {
  return class extends OAuthError {
    constructor(description = fallback, detail?: string) {
      super(status, error, description, detail);
    }
  };
}

export class InvalidRequest extends simpleError(400, 'invalid_request', 'the request is malformed') {}
export class InvalidGrant extends simpleError(400, 'invalid_grant', 'the grant is invalid, expired or revoked') {}
export class UnauthorizedClient extends simpleError(400, 'unauthorized_client', 'the client is not allowed to do this') {}
export class UnsupportedGrantType extends simpleError(400, 'unsupported_grant_type', 'the grant type is not supported') {}
export class InvalidScope extends simpleError(400, 'invalid_scope', 'the requested scope is invalid or exceeds what was granted') {}
export class InvalidTarget extends simpleError(400, 'invalid_target', 'the resource parameter is invalid') {}
/** RFC 7591 §3.2.2: a redirect URI the client may not have. */
export class InvalidRedirectUri extends simpleError(400, 'invalid_redirect_uri', 'a redirect URI is invalid') {}
/** RFC 7591 §3.2.2: any other client metadata field is invalid. */
export class InvalidClientMetadata extends simpleError(400, 'invalid_client_metadata', 'the client metadata is invalid') {}

export class InvalidClient extends OAuthError {
  /** `basic`: the client tried HTTP Basic, so the answer carries a Basic challenge (RFC 6749 §5.2). */
  constructor(description = 'client authentication failed', options: { basic?: boolean; detail?: string } = {}) {
    super(401, 'invalid_client', description, options.detail);
    this.headers['WWW-Authenticate'] = options.basic ? 'Basic realm="warrant", charset="UTF-8"' : 'Basic realm="warrant"';
  }
}

export class NotFound extends OAuthError {
  constructor(description = 'not found') {
    super(404, 'not_found', description);
  }
}

export class RequestTooLarge extends OAuthError {
  constructor(limit: number) {
    super(413, 'request_too_large', `the request body exceeds ${limit} bytes`);
  }
}

export class TemporarilyUnavailable extends OAuthError {
  constructor(description = 'the server is temporarily unavailable; retry shortly', retryAfterSeconds = 1, detail?: string) {
    super(503, 'temporarily_unavailable', description, detail);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** RFC 6750 §3: bearer-token failures carry their error in WWW-Authenticate. */
export class BearerError extends OAuthError {
  constructor(
    status: 401 | 403,
    error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null,
    description: string,
    options: { realm: string; scope?: string; detail?: string },
  ) {
    super(status, error ?? 'invalid_token', description, options.detail);
    const params = [`realm="${options.realm}"`];
    if (error) params.push(`error="${error}"`, `error_description="${description.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '')}"`);
    if (options.scope) params.push(`scope="${options.scope}"`);
    this.headers['WWW-Authenticate'] = `Bearer ${params.join(', ')}`;
    this.#bare = error === null;
  }

  readonly #bare: boolean;

  override body(): Record<string, string> {
    // No credentials at all: RFC 6750 §3.1 says the response SHOULD NOT carry an error code.
    return this.#bare ? { error: 'invalid_request', error_description: 'a bearer token is required' } : super.body();
  }
}
