// The token family aggregate (stream `token-<familyId>`): one issued grant and its refresh chain.
// Refresh rotation with reuse detection (RFC 9700 §4.14.2): presenting a rotated refresh token
// revokes the whole family, unless it comes from the same client within the grace window.
// DPoP (RFC 9449 §5): a public client's family issued with a proof refreshes only with that key.
// Decider shape (./decider.ts); no I/O.

import type { DomainEvent, IdTokenIssued, RevocationReason, TokenIssued } from '../events/types.js';
import { accept, refuse, type Decider, type Decision, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface FamilyState {
  issued: TokenIssued | null;
  revoked: boolean;
  scopes: string[];
  currentJti: string | null;
  currentRefreshHash: string | null;
  refreshExpiresAt: string | null;
  /** Refresh-token hashes that were rotated away, with when. */
  rotated: Record<string, string>;
  /** OpenID Connect: the sign-in the family's first id token spoke of (refreshes repeat it). */
  identity: { sessionId: string | null; authTime: string } | null;
}

const initialFamilyState: FamilyState = {
  issued: null,
  revoked: false,
  scopes: [],
  currentJti: null,
  currentRefreshHash: null,
  refreshExpiresAt: null,
  rotated: {},
  identity: null,
};

function evolve(state: FamilyState, event: Happened): FamilyState {
  switch (event.type) {
    case 'TokenIssued': {
      const d = event.data;
      return { ...state, issued: d, scopes: d.scopes, currentJti: d.jti, currentRefreshHash: d.refreshTokenHash, refreshExpiresAt: d.refreshTokenExpiresAt };
    }
    case 'TokenRefreshed': {
      const d = event.data;
      const rotated = { ...state.rotated };
      if (state.currentRefreshHash) rotated[state.currentRefreshHash] = event.occurredAt;
      rotated[d.previousRefreshTokenHash] ??= event.occurredAt;
      return { ...state, scopes: d.scopes, currentJti: d.jti, currentRefreshHash: d.refreshTokenHash, refreshExpiresAt: d.refreshTokenExpiresAt, rotated };
    }
    case 'TokenRevoked':
      return { ...state, revoked: true };
    case 'IdTokenIssued':
      return state.identity ? state : { ...state, identity: { sessionId: event.data.sessionId, authTime: event.data.authTime } };
    default:
      return state;
  }
}

/** Starts the family: the caller mints the ids, hashes and times (no I/O, clock or randomness here). */
export interface IssueCommand {
  type: 'Issue';
  token: TokenIssued;
  /** OpenID Connect: the id token that goes out with the first tokens. */
  idToken?: IdTokenIssued;
}

export interface RefreshCommand {
  type: 'Refresh';
  familyId: string;
  clientId: string;
  presentedHash: string;
  /** Requested scopes; undefined keeps the current ones (RFC 6749 §6). */
  scopes: string[] | undefined;
  /** Scopes the client may still receive (its registration may have narrowed since). */
  clientScopes: readonly string[];
  jti: string;
  /** Keyed hash of the access token that goes out with this refresh. */
  accessTokenHash: string | null;
  refreshTokenHash: string;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date;
  graceSeconds: number;
  now: Date;
  /** OpenID Connect: the id token that goes out with the refreshed tokens. */
  idToken?: IdTokenIssued;
  /** RFC 9449: the key of the request's DPoP proof (null: none); the new access token is bound to it. */
  dpopJkt?: string | null;
  /** Only a public client's refresh token is bound to its family's key (§5); unknown counts as public. */
  confidential?: boolean;
}

export interface RevokeCommand {
  type: 'Revoke';
  familyId: string;
  reason: RevocationReason;
}

export type FamilyCommand = IssueCommand | RefreshCommand | RevokeCommand;

function decide(command: FamilyCommand, state: FamilyState): Decision {
  switch (command.type) {
    case 'Issue':
      if (state.issued) return refuse(new DomainError('family_exists', `family ${command.token.familyId} exists`));
      return command.idToken
        ? accept({ type: 'TokenIssued', data: command.token }, { type: 'IdTokenIssued', data: command.idToken })
        : accept({ type: 'TokenIssued', data: command.token });
    case 'Refresh':
      return decideRefresh(command, state);
    case 'Revoke':
      if (!state.issued) return refuse(new DomainError('family_not_found', `family ${command.familyId} does not exist`));
      if (state.revoked) return accept();
      return accept({ type: 'TokenRevoked', data: { familyId: command.familyId, clientId: state.issued.clientId, reason: command.reason } });
  }
}

function decideRefresh(command: RefreshCommand, state: FamilyState): Decision {
  const issued = state.issued;
  if (!issued) return refuse(new DomainError('refresh_token_unknown', 'unknown refresh token'));
  // A token presented by another client proves nothing about the owner: refuse, revoke nothing.
  if (issued.clientId !== command.clientId) {
    return refuse(new DomainError('refresh_token_wrong_client', 'the refresh token was issued to another client'));
  }
  if (state.revoked) return refuse(new DomainError('family_revoked', 'the grant was revoked'));
  // Checked before reuse detection: without the key a stolen token cannot even end the grant.
  if (issued.dpopJkt && command.confidential !== true && command.dpopJkt !== issued.dpopJkt) {
    return refuse(new DomainError('refresh_token_wrong_key', 'the refresh token is bound to another DPoP key'));
  }

  const revoke = (): Decision =>
    refuse(
      new DomainError('refresh_token_reused', 'a rotated refresh token was used again; the grant is revoked'),
      { type: 'TokenRevoked', data: { familyId: command.familyId, clientId: issued.clientId, reason: 'refresh_token_reuse' } },
    );

  let previous: string;
  if (command.presentedHash === state.currentRefreshHash) {
    if (!state.refreshExpiresAt || new Date(state.refreshExpiresAt) <= command.now) {
      return refuse(new DomainError('refresh_token_expired', 'the refresh token has expired'));
    }
    previous = command.presentedHash;
  } else if (command.presentedHash in state.rotated) {
    const rotatedAt = new Date(state.rotated[command.presentedHash]!).getTime();
    const withinGrace = command.graceSeconds > 0 && command.now.getTime() - rotatedAt <= command.graceSeconds * 1000;
    if (!withinGrace) return revoke();
    // The client's own retry (e.g. it lost our last answer): rotate again from the token it holds.
    previous = command.presentedHash;
  } else {
    return refuse(new DomainError('refresh_token_unknown', 'unknown refresh token'));
  }

  // RFC 6749 §6: the new scope may narrow but never exceed what was originally granted; it is
  // also limited to what the client may receive today.
  const allowed = issued.scopes.filter((scope) => command.clientScopes.includes(scope));
  const scopes = command.scopes ?? state.scopes.filter((scope) => allowed.includes(scope));
  if (command.scopes && command.scopes.some((scope) => !allowed.includes(scope))) {
    return refuse(new DomainError('scope_widened', 'the requested scope exceeds the original grant'));
  }
  const idToken: DomainEvent[] = command.idToken ? [{ type: 'IdTokenIssued', data: command.idToken }] : [];
  return accept({
    type: 'TokenRefreshed',
    data: {
      familyId: command.familyId,
      clientId: command.clientId,
      jti: command.jti,
      accessTokenHash: command.accessTokenHash,
      scopes,
      accessTokenExpiresAt: command.accessTokenExpiresAt.toISOString(),
      previousRefreshTokenHash: previous,
      refreshTokenHash: command.refreshTokenHash,
      refreshTokenExpiresAt: command.refreshTokenExpiresAt.toISOString(),
      ...(command.dpopJkt ? { dpopJkt: command.dpopJkt } : {}),
    },
  }, ...idToken);
}

export const familyDecider: Decider<FamilyState, FamilyCommand> = { initialState: initialFamilyState, decide, evolve };
