// Reads a JSON request body: right content type, size limit (413), parse errors as invalid_request.

import type { Context } from 'koa';
import { InvalidRequest } from '../oauth/errors.js';
import { jsonHasUnstorableText } from '../oauth/text.js';
import { readBody } from './form.js';

export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.is('application/json')) throw new InvalidRequest('the body must be application/json');
  const text = await readBody(ctx, limit);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidRequest('the body is not valid JSON');
  }
  if (jsonHasUnstorableText(value)) throw new InvalidRequest('the JSON contains U+0000 or an unpaired surrogate');
  return value;
}
