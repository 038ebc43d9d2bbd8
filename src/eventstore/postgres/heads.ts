// Stream heads this process has seen lately (revision and hash of a stream's last event), from
// its own appends and whole-stream reads. An append that expects exactly a known head can be
// sealed before the transaction and sent in one round trip (./append.ts): the transaction itself
// checks, under the append lock, that the stream is still at that revision with that hash, and
// fails otherwise. A stale entry therefore costs a retry on the general path, never a wrong append.

export interface Head {
  revision: number;
  hash: string;
}

export class KnownHeads {
  readonly #heads = new Map<string, Head>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  get(streamId: string): Head | undefined {
    return this.#heads.get(streamId);
  }

  set(streamId: string, head: Head): void {
    this.#heads.delete(streamId); // re-inserted last: the oldest entries go first
    this.#heads.set(streamId, head);
    if (this.#heads.size > this.#capacity) this.#heads.delete(this.#heads.keys().next().value!);
  }

  forget(streamId: string): void {
    this.#heads.delete(streamId);
  }
}
