// The built-in user directory of the standalone server. Passwords are hashed with scrypt
// (memory-hard: N=2^15, r=8, p=1 → 32 MiB per hash), a random salt each, compared in constant time.

import { randomBytes, randomUUID, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type pg from 'pg';

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, KEYLEN, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  const expected = Buffer.from(key, 'base64url');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

export class UserError extends Error {
  readonly code = 'ERR_WARRANT_USER';
}

export interface User {
  userId: string;
  username: string;
}

const USERNAME = /^[A-Za-z0-9._@+-]{1,100}$/;
// A hash of nothing, so a login with an unknown username costs as much as a wrong password.
const DUMMY = hashPassword(randomBytes(16).toString('hex'));

/** Standard claims (OIDC Core §5.1) a user may have besides the username. */
export interface UserProfile {
  email?: string | undefined;
  emailVerified?: boolean | undefined;
  name?: string | undefined;
}

// One address, no display name or comments: what people type, not all RFC 5322 allows.
const EMAIL = /^[^\s@<>()",;:\\[\]\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const CONTROLS = /[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]/;

export async function createUser(pool: pg.Pool, username: string, password: string, profile: UserProfile = {}): Promise<User> {
  if (!USERNAME.test(username)) throw new UserError('username: 1 to 100 letters, digits or . _ @ + -');
  if (password.length < 8 || password.length > 1024) throw new UserError('password: 8 to 1024 characters');
  if (profile.email !== undefined && !EMAIL.test(profile.email)) throw new UserError('email: one address such as ada@example.com');
  if (profile.name !== undefined && (profile.name.length < 1 || profile.name.length > 200 || CONTROLS.test(profile.name))) throw new UserError('name: 1 to 200 characters, no control characters');
  const userId = randomUUID();
  try {
    await pool.query('INSERT INTO users (user_id, username, password_hash, email, email_verified, name) VALUES ($1, $2, $3, $4, $5, $6)', [
      userId, username, await hashPassword(password), profile.email ?? null, profile.emailVerified ?? false, profile.name ?? null,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new UserError(`user ${username} already exists`);
    throw error;
  }
  return { userId, username };
}

export async function checkLogin(pool: pg.Pool, username: string, password: string): Promise<User | undefined> {
  const { rows } = await pool.query<{ user_id: string; username: string; password_hash: string }>(
    'SELECT user_id, username, password_hash FROM users WHERE username = $1',
    [username],
  );
  const row = rows[0];
  const ok = await verifyPassword(password.slice(0, 1024), row?.password_hash ?? (await DUMMY));
  return row && ok ? { userId: row.user_id, username: row.username } : undefined;
}

export async function findUserByName(pool: pg.Pool, username: string): Promise<User | undefined> {
  const { rows } = await pool.query<{ user_id: string; username: string }>('SELECT user_id, username FROM users WHERE username = $1', [username]);
  return rows[0] && { userId: rows[0].user_id, username: rows[0].username };
}

export async function listUsers(pool: pg.Pool): Promise<(User & { createdAt: Date })[]> {
  const { rows } = await pool.query<{ user_id: string; username: string; created_at: Date }>('SELECT user_id, username, created_at FROM users ORDER BY username');
  return rows.map((row) => ({ userId: row.user_id, username: row.username, createdAt: row.created_at }));
}

/** Removes the user (the caller first revokes their tokens, sessions and consents, as events). */
export async function deleteUser(pool: pg.Pool, userId: string): Promise<void> {
  await pool.query('DELETE FROM users WHERE user_id = $1', [userId]);
}

export async function findUser(pool: pg.Pool, userId: string): Promise<User | undefined> {
  const { rows } = await pool.query<{ user_id: string; username: string }>('SELECT user_id, username FROM users WHERE user_id = $1::text::uuid', [userId]).catch(() => ({ rows: [] }));
  return rows[0] && { userId: rows[0].user_id, username: rows[0].username };
}

/** A user's standard claims (OIDC Core §5.1) for the id token and userinfo: the default `findAccount`. */
export async function userClaims(pool: pg.Pool, userId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await pool
    .query<{ username: string; email: string | null; email_verified: boolean; name: string | null }>(
      'SELECT username, email, email_verified, name FROM users WHERE user_id = $1::text::uuid',
      [userId],
    )
    .catch(() => ({ rows: [] }));
  const row = rows[0];
  if (!row) return undefined;
  return {
    preferred_username: row.username,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.email !== null ? { email: row.email, email_verified: row.email_verified } : {}),
  };
}
