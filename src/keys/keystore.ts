// Signing keys (DESIGN §6). Files in WARRANT_STORAGE/keys/<kid>.json (mode 0600), or one key from
// WARRANT_SIGNING_KEY (PEM or JWK) so several nodes share it. Exactly one key is active (it
// signs); retiring keys stay in the JWKS until the last token they signed has expired.

import { createPrivateKey, type JsonWebKey as NodeJsonWebKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256', 'EdDSA'];

export interface StoredKey {
  kid: string;
  alg: SigningAlg;
  createdAt: string;
  status: 'active' | 'retiring';
  /** For retiring keys: when the last token it signed expires; after that it is dropped. */
  retireAfter: string | null;
  privateJwk: JWK;
}

export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  status: 'active' | 'retiring';
  retireAfter: string | null;
  privateKey: CryptoKey;
  /** The same private key for node:crypto, which signs ~4× faster than WebCrypto through jose (issue 15). */
  signingKey: KeyObject;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export class KeyError extends Error {
  readonly code = 'ERR_WARRANT_KEYS';
}

export function keysDir(storage: string): string {
  return path.join(storage, 'keys');
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...rest } = jwk as JWK & { oth?: unknown };
  return rest;
}

export async function generateStoredKey(alg: SigningAlg, now = new Date()): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart(privateJwk));
  return { kid, alg, createdAt: now.toISOString(), status: 'active', retireAfter: null, privateJwk };
}

async function writeKeyFile(storage: string, key: StoredKey): Promise<void> {
  const dir = keysDir(storage);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${key.kid}.json`);
  const temp = `${file}.tmp`;
  await writeFile(temp, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export async function readStoredKeys(storage: string): Promise<StoredKey[]> {
  const dir = keysDir(storage);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const keys: StoredKey[] = [];
  for (const file of files) {
    const key = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as StoredKey;
    if (!SIGNING_ALGS.includes(key.alg) || !key.kid || !key.privateJwk) throw new KeyError(`${file} is not a Warrant signing key`);
    keys.push(key);
  }
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * `warrant install`: creates an active key when there is none (or replaces all with `force`).
 * Returns the active key and whether it was created now.
 */
export async function ensureKey(storage: string, options: { alg?: SigningAlg; force?: boolean } = {}): Promise<{ key: StoredKey; created: boolean }> {
  const existing = await readStoredKeys(storage);
  const active = existing.find((k) => k.status === 'active');
  if (active && !options.force) return { key: active, created: false };
  const key = await generateStoredKey(options.alg ?? 'ES256');
  if (options.force) {
    const { rm } = await import('node:fs/promises');
    for (const old of existing) await rm(path.join(keysDir(storage), `${old.kid}.json`), { force: true });
  }
  await writeKeyFile(storage, key);
  return { key, created: true };
}

/**
 * `warrant keys rotate`: a new active key; the previous active one retires and stays published
 * until `retireAfterSeconds` (the longest access-token lifetime) from now. Expired retiring keys
 * are deleted.
 */
export async function rotateKeys(storage: string, options: { alg?: SigningAlg; retireAfterSeconds: number; now?: Date }): Promise<{ active: StoredKey; retired: StoredKey[] }> {
  const now = options.now ?? new Date();
  const existing = await readStoredKeys(storage);
  const previous = existing.find((k) => k.status === 'active');
  const key = await generateStoredKey(options.alg ?? previous?.alg ?? 'ES256', now);
  await writeKeyFile(storage, key);
  const retired: StoredKey[] = [];
  for (const old of existing) {
    if (old.status === 'active') {
      const retiring: StoredKey = { ...old, status: 'retiring', retireAfter: new Date(now.getTime() + options.retireAfterSeconds * 1000).toISOString() };
      await writeKeyFile(storage, retiring);
      retired.push(retiring);
    } else if (old.retireAfter && new Date(old.retireAfter) <= now) {
      const { rm } = await import('node:fs/promises');
      await rm(path.join(keysDir(storage), `${old.kid}.json`), { force: true });
    }
  }
  return { active: key, retired };
}

async function load(stored: StoredKey): Promise<LoadedKey> {
  const privateKey = (await importJWK(stored.privateJwk, stored.alg)) as CryptoKey;
  const publicJwk = { ...publicPart(stored.privateJwk), kid: stored.kid, alg: stored.alg, use: 'sig' };
  const publicKey = (await importJWK(publicJwk, stored.alg)) as CryptoKey;
  const signingKey = createPrivateKey({ key: stored.privateJwk as NodeJsonWebKey, format: 'jwk' });
  return { kid: stored.kid, alg: stored.alg, status: stored.status, retireAfter: stored.retireAfter, privateKey, signingKey, publicKey, publicJwk };
}

/** Parses WARRANT_SIGNING_KEY: a PKCS#8 PEM or a private JWK (JSON). */
export async function keyFromEnvironment(value: string, alg: SigningAlg): Promise<StoredKey> {
  let privateJwk: JWK;
  if (value.trim().startsWith('{')) {
    try {
      privateJwk = JSON.parse(value) as JWK;
    } catch {
      throw new KeyError('WARRANT_SIGNING_KEY looks like JSON but does not parse');
    }
    if (!privateJwk.d) throw new KeyError('WARRANT_SIGNING_KEY must be a private JWK (it has no "d")');
  } else {
    try {
      privateJwk = await exportJWK(await importPKCS8(value.replace(/\\n/g, '\n'), alg, { extractable: true }));
    } catch (error) {
      throw new KeyError(`WARRANT_SIGNING_KEY is not a PKCS#8 PEM ${alg} key: ${(error as Error).message}`);
    }
  }
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(publicPart(privateJwk)));
  return { kid, alg, createdAt: new Date(0).toISOString(), status: 'active', retireAfter: null, privateJwk };
}

/**
 * The keys a process signs and verifies with. Reloads the key folder when it changes (checked
 * at most every `reloadIntervalMs`), so `warrant keys rotate` reaches running servers.
 */
export class KeyStore {
  #keys: LoadedKey[] = [];
  #checkedAt = 0;
  #folderStamp = '';

  private constructor(
    private readonly source: { storage: string } | { env: StoredKey },
    private readonly reloadIntervalMs: number,
  ) {}

  static async open(options: { storage: string; signingKey?: string | undefined; signingKeyAlg?: SigningAlg; reloadIntervalMs?: number }): Promise<KeyStore> {
    const source = options.signingKey
      ? { env: await keyFromEnvironment(options.signingKey, options.signingKeyAlg ?? 'ES256') }
      : { storage: options.storage };
    const store = new KeyStore(source, options.reloadIntervalMs ?? 5000);
    await store.reload();
    if (!store.#keys.some((k) => k.status === 'active')) {
      throw new KeyError(`no signing key in ${keysDir(options.storage)}: run \`warrant install\``);
    }
    return store;
  }

  async reload(): Promise<void> {
    if ('env' in this.source) {
      this.#keys = [await load(this.source.env)];
      return;
    }
    const stored = await readStoredKeys(this.source.storage);
    const now = Date.now();
    const usable = stored.filter((k) => k.status === 'active' || !k.retireAfter || new Date(k.retireAfter).getTime() > now);
    const loaded = await Promise.all(usable.map(load));
    // Newest active first: if two processes rotated at once, the newest wins everywhere.
    loaded.sort((a, b) => (a.status === b.status ? 0 : a.status === 'active' ? -1 : 1));
    if (loaded.some((k) => k.status === 'active')) this.#keys = loaded;
  }

  async #maybeReload(): Promise<void> {
    if ('env' in this.source || Date.now() - this.#checkedAt < this.reloadIntervalMs) return;
    this.#checkedAt = Date.now();
    try {
      const info = await stat(keysDir(this.source.storage));
      const stamp = `${info.mtimeMs}`;
      if (stamp !== this.#folderStamp) {
        this.#folderStamp = stamp;
        await this.reload();
      }
    } catch {
      // Keep the keys we have; the folder may be briefly unavailable.
    }
  }

  async active(): Promise<LoadedKey> {
    await this.#maybeReload();
    const newest = this.#keys.filter((k) => k.status === 'active').at(-1) ?? this.#keys[0];
    if (!newest) throw new KeyError('no active signing key');
    return newest;
  }

  /** Keys that may have signed a live token: the active ones and retiring ones not yet expired. */
  async verificationKeys(): Promise<LoadedKey[]> {
    await this.#maybeReload();
    const now = Date.now();
    return this.#keys.filter((k) => k.status === 'active' || !k.retireAfter || new Date(k.retireAfter).getTime() > now);
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.verificationKeys()).map((k) => k.publicJwk) };
  }
}
