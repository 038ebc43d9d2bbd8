// No OAuth parameter carries control characters, and PostgreSQL refuses NUL in text (and in JSON
// strings, also unpaired UTF-16 surrogates): requests that contain them are refused up front
// instead of failing deep inside.

const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

// Text shown to people (client names in consent pages and terminals): besides C0 and DEL, the C1
// controls (U+0080–U+009F; U+009B is a one-byte CSI to some terminals), the bidirectional controls
// (U+202A–U+202E overrides and embeddings, U+2066–U+2069 isolates, U+200E/U+200F/U+061C marks),
// which make text read differently from what it is, and the line and paragraph separators.
const DISPLAY_CONTROL = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;
const DISPLAY_CONTROLS = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;

/** Whether text holds a character that controls a terminal or reorders text instead of showing. */
export function hasDisplayControls(value: string): boolean {
  return DISPLAY_CONTROL.test(value);
}

/** The same text with those characters written out as `\x1b` or `\u202e`: safe to print. */
export function escapeDisplayControls(value: string): string {
  return value.replace(DISPLAY_CONTROLS, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** U+0000 or an unpaired surrogate: text PostgreSQL cannot store (valid JSON escapes can make them). */
export function hasUnstorableText(value: string): boolean {
  return UNSTORABLE.test(value);
}

/** Whether any string in a parsed JSON value, key or value, is unstorable (iterative: any depth). */
export function jsonHasUnstorableText(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node === 'string') {
      if (hasUnstorableText(node)) return true;
    } else if (Array.isArray(node)) {
      for (const child of node) pending.push(child);
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        if (hasUnstorableText(key)) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/** At most `max` characters, never ending in half of a surrogate pair. */
export function truncate(value: string, max: number): string {
  const cut = value.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Client ids, family ids and user ids are UUIDs: anything else is refused before a query. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
