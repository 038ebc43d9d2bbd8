// Why a decider refused a command. Stable codes; the application layer maps them to OAuth errors.

export type DomainErrorCode =
  | 'client_exists'
  | 'client_not_found'
  | 'client_revoked'
  | 'client_not_confidential'
  | 'client_privileged_user_grant'
  | 'code_exists'
  | 'code_unknown'
  | 'code_replayed'
  | 'code_expired'
  | 'code_wrong_client'
  | 'code_wrong_redirect_uri'
  | 'pkce_missing'
  | 'pkce_mismatch'
  | 'pkce_unexpected'
  | 'device_exists'
  | 'device_unknown'
  | 'device_wrong_client'
  | 'device_expired'
  | 'device_decided'
  | 'device_pending'
  | 'device_denied'
  | 'device_redeemed'
  | 'family_exists'
  | 'family_not_found'
  | 'family_revoked'
  | 'refresh_token_unknown'
  | 'refresh_token_expired'
  | 'refresh_token_reused'
  | 'refresh_token_wrong_client'
  | 'refresh_token_wrong_key'
  | 'scope_widened'
  | 'session_exists'
  | 'session_unknown'
  | 'registration_token_exists'
  | 'registration_token_unknown'
  | 'registration_token_expired'
  | 'registration_token_used'
  | 'par_exists'
  | 'par_unknown'
  | 'par_wrong_client'
  | 'par_used'
  | 'par_expired';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
