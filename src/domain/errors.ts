// Why a decider refused a command. Stable codes; the HTTP layer maps them to OAuth errors.

export type DomainErrorCode =
  | 'client_exists'
  | 'client_not_found'
  | 'client_revoked'
  | 'client_not_confidential'
  | 'client_privileged_user_grant'
  | 'family_exists'
  | 'family_not_found'
  | 'family_revoked'
  | 'refresh_token_unknown'
  | 'refresh_token_expired'
  | 'refresh_token_reused'
  | 'refresh_token_wrong_client'
  | 'scope_widened';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
