// Finding a token issuer's keys for createPolicy: its RFC 8414 metadata names the jwks_uri; and
// telling a JWKS that could not be fetched (the issuer's trouble: 503) from a token naming an
// unknown key (the token's: 401).

import { errors as joseErrors } from 'jose';

/** The issuer's jwks_uri, from its metadata, within timeoutMs. */
export async function discoverJwks(issuer: string, timeoutMs: number): Promise<URL> {
  const url = `${issuer}/.well-known/oauth-authorization-server`;
  try {
    // One deadline for headers and body: undici alone would wait 300 s on an issuer that never answers.
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`cannot read ${url}: HTTP ${response.status}`);
    const metadata = (await response.json()) as { jwks_uri?: string; issuer?: string };
    if (metadata.issuer !== issuer || !metadata.jwks_uri) throw new Error('issuer metadata does not match the issuer or has no jwks_uri');
    return new URL(metadata.jwks_uri);
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    throw error;
  }
}

/**
 * Did fetching the issuer's JWKS fail (no answer in time, refused, not 200, not a key set), as
 * opposed to the token naming a key the issuer does not have? jose reports a non-200 answer or an
 * unparsable body as a bare JOSEError and lets fetch's own TypeError through.
 */
export function isKeyFetchFailure(error: unknown): error is Error {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  if (error instanceof joseErrors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return error instanceof TypeError;
}
