// The parameters of a form-encoded OAuth request, each at most once (RFC 6749 §3.2); read by
// src/http/form.ts, used by client authentication and the grants.
export type Params = Map<string, string>;
