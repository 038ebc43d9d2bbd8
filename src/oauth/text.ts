// No OAuth parameter carries control characters, and PostgreSQL refuses NUL in text (and in JSON
// strings, also unpaired UTF-16 surrogates): requests that contain them are refused up front
// instead of failing deep inside.

const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
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
