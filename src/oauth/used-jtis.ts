// Single-use JWT ids, shared by every process on the database (migration 0013, table used_jtis):
// client assertions (RFC 7523 §3 item 7) now, DPoP proofs (RFC 9449 §11.1) later. A jti is
// recorded once per scope (`client_assertion:<clientId>`, …); the primary key makes the check and
// the record one atomic statement, so two nodes racing with the same jti cannot both win.
//
// Only the keyed hash of a jti is stored (it is not secret, but it is caller-chosen text). A row
// is worthless once the JWT it stands for has expired and is deleted then — at most once a minute
// per process, and a minute late, so a node whose clock runs behind still finds it.

import type pg from 'pg';
import type { WarrantContext } from './context.js';

const SWEEP_EVERY_MS = 60_000;
/** How long past its expiry a row is kept: more than any clock skew between nodes. */
const SWEEP_GRACE_MS = 60_000;

export class UsedJtis {
  #lastSweep = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly hash: (jti: string) => string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Records `jti` in `scope` until `expiresAt` (when the JWT carrying it stops being accepted).
   * True the first time; false when it was already used: a replay.
   */
  async use(scope: string, jti: string, expiresAt: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO used_jtis (scope, jti_hash, expires_at) VALUES ($1, $2, $3) ON CONFLICT (scope, jti_hash) DO NOTHING',
      [scope, this.hash(jti), expiresAt],
    );
    await this.#sweep();
    return rowCount === 1;
  }

  async #sweep(): Promise<void> {
    const now = this.clock().getTime();
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    await this.pool.query('DELETE FROM used_jtis WHERE expires_at < $1', [new Date(now - SWEEP_GRACE_MS)]);
  }
}

// One per server context (its pool, hasher and clock), made on first use: the sweep timer is
// per process, and nothing needs wiring in createAuthServer.
const perContext = new WeakMap<WarrantContext, UsedJtis>();

export function usedJtis(ctx: WarrantContext): UsedJtis {
  let used = perContext.get(ctx);
  if (!used) {
    used = new UsedJtis(ctx.pool, (jti) => ctx.hasher.hash(jti), ctx.clock);
    perContext.set(ctx, used);
  }
  return used;
}
