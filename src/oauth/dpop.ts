// DPoP (RFC 9449): proofs of possession of a client's key, at the token endpoint and in the
// policy middleware.

/** Algorithms accepted for DPoP proofs (asymmetric only; RFC 9449 §4.3 item 6). */
export const DPOP_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;
