// No OAuth parameter carries control characters, and PostgreSQL refuses NUL in text: requests
// that contain them are refused up front instead of failing deep inside.

const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}
