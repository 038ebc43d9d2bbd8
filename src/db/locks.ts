// Advisory lock keys, in PostgreSQL's two-integer form: (WARRANT, purpose).
// pg_advisory_* locks with these keys are the only cross-process coordination Warrant uses.

/** 'WARR' as a signed 32-bit integer: the first key of every Warrant advisory lock. */
export const LOCK_NAMESPACE = 0x57415252;

export const LockKey = {
  /** Held (transaction-scoped) around every append: positions follow commit order. */
  append: 1,
  /** Held (session-scoped) while migrations run. */
  migrate: 2,
  /** Projection runners use hashtext(projection name), which never collides with the above in practice. */
} as const;
