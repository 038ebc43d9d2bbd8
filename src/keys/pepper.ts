// The server pepper: the HMAC key of every stored secret hash. From WARRANT_PEPPER, or the file
// WARRANT_STORAGE/pepper (mode 0600) that `warrant install` creates. Losing it invalidates every
// client secret and refresh token; every node must share it.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KeyError } from './keystore.js';

export function pepperFile(storage: string): string {
  return path.join(storage, 'pepper');
}

export async function ensurePepper(storage: string): Promise<{ created: boolean }> {
  try {
    await readFile(pepperFile(storage));
    return { created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(storage, { recursive: true, mode: 0o700 });
  await writeFile(pepperFile(storage), `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error; // another process created it first: use theirs
  });
  await chmod(pepperFile(storage), 0o600);
  return { created: true };
}

export async function loadPepper(options: { storage: string; pepper?: string | undefined }): Promise<Buffer> {
  if (options.pepper) return Buffer.from(options.pepper, 'base64url');
  try {
    const value = Buffer.from((await readFile(pepperFile(options.storage), 'utf8')).trim(), 'base64url');
    if (value.length < 32) throw new KeyError(`${pepperFile(options.storage)} is too short`);
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyError(`no pepper: set WARRANT_PEPPER or run \`warrant install\` (expected ${pepperFile(options.storage)})`);
    }
    throw error;
  }
}
