// One LISTEN connection on one channel, reconnected on demand. Notifications arrive only after
// the notifying transaction committed; while disconnected, callers fall back to polling.

import pg from 'pg';

export interface ChannelListenerOptions {
  /** Connection settings (a pool's options will do). */
  config: pg.ClientConfig;
  channel: string;
  applicationName: string;
  onNotification(payload: string): void;
  /** Called once listening starts: anything sent while connecting was missed. */
  onListening?(): void;
}

export class ChannelListener {
  readonly #options: ChannelListenerOptions;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #epoch = 0;

  constructor(options: ChannelListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) throw new Error(`not a plain channel name: ${options.channel}`);
    this.#options = options;
  }

  get listening(): boolean {
    return this.#client !== undefined;
  }

  /**
   * Counts successful LISTENs; 0 while not listening. Anything learned under one epoch is
   * current only while the epoch is unchanged: a reconnect means notifications may have been
   * missed.
   */
  get epoch(): number {
    return this.#client ? this.#epoch : 0;
  }

  /** Connects and LISTENs if not already; never throws (a failure leaves `listening` false). */
  ensure(): Promise<void> {
    if (this.#client || this.#closed) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...this.#options.config, application_name: this.#options.applicationName });
    client.on('notification', (message) => this.#options.onNotification(message.payload ?? ''));
    const drop = () => {
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
    } catch {
      await client.end().catch(() => undefined);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#epoch += 1;
    this.#options.onListening?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
