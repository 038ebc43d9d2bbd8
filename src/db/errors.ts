// Tells a PostgreSQL error that means "the database cannot be reached right now" from any other:
// callers answer those as temporarily unavailable (503, retry), never as a fault of the request.

/** SQLSTATE classes and errno codes that mean "the database is not reachable right now". */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = (error as Error | null)?.message ?? '';
    return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
  }
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || code === '57P02' || code === '57P03' || // admin shutdown, crash shutdown, cannot connect now
    code === '53300' || // too many connections
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)
  );
}
