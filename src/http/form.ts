// Reads an application/x-www-form-urlencoded body the way RFC 6749 wants it read: a size limit
// (413), the right content type, every parameter at most once (§3.2), well-formed encoding.

import type { Context } from 'koa';
import { InvalidRequest, RequestTooLarge } from '../oauth/errors.js';
import type { Params } from '../oauth/params.js';
import { hasControlCharacters } from '../oauth/text.js';


/** The raw body as UTF-8 text, refusing more than `limit` bytes (413) and invalid UTF-8. */
export async function readBody(ctx: Context, limit: number): Promise<string> {
  // A host app's body parser (@koa/bodyparser, koa-body) mounted before Warrant has consumed the
  // stream; it keeps the raw text, which we parse ourselves as strictly as our own read.
  const raw = (ctx.request as { rawBody?: unknown }).rawBody;
  if (typeof raw === 'string') {
    if (Buffer.byteLength(raw, 'utf8') > limit) throw new RequestTooLarge(limit);
    return raw;
  }
  if (ctx.req.readableEnded) {
    throw new Error('the request body was already consumed by a middleware mounted before Warrant (a body parser without rawBody); mount Warrant first');
  }
  const declared = Number(ctx.get('content-length') || NaN);
  if (Number.isFinite(declared) && declared > limit) throw new RequestTooLarge(limit);
  const buffer = await new Promise<Buffer>((resolve, reject) => {
    const req = ctx.req;
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    function onData(chunk: Buffer) {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Stop listening but do not destroy the request: destroying it would end the exchange before
      // the 413 is written. Node discards the rest of the body; the connection is not reused.
      stop();
      req.resume();
      ctx.set('Connection', 'close');
      reject(new RequestTooLarge(limit));
    }
    function onEnd() {
      stop();
      resolve(Buffer.concat(chunks));
    }
    function onError(error: Error) {
      stop();
      reject(error);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  const text = buffer.toString('utf8');
  if (Buffer.byteLength(text, 'utf8') !== buffer.length || text.includes('\uFFFD')) throw new InvalidRequest('the body is not valid UTF-8');
  return text;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest('the body has a malformed percent-encoding');
  }
}

/** Parses the form; the caller decides which parameters it needs (unknown ones are ignored, §3.1). */
export async function readForm(ctx: Context, limit: number): Promise<Params> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new InvalidRequest('the body must be application/x-www-form-urlencoded');
  }
  const body = await readBody(ctx, limit);
  const params: Params = new Map();
  if (body.length === 0) return params;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decode(at < 0 ? pair : pair.slice(0, at));
    const value = decode(at < 0 ? '' : pair.slice(at + 1));
    if (params.has(name)) throw new InvalidRequest(`parameter ${JSON.stringify(name.slice(0, 40))} is repeated`);
    if (hasControlCharacters(name) || hasControlCharacters(value)) throw new InvalidRequest(`parameter ${JSON.stringify(name.slice(0, 40))} contains control characters`);
    if (value !== '') params.set(name, value); // RFC 6749 §3.1: empty values are treated as omitted
  }
  return params;
}
