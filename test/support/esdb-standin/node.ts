// One stand-in node: a gRPC server (grpc-js, plaintext like `?tls=false`) serving a StandinLog
// with the services and behaviour of one EventStoreDB version, and the faults tests switch on.

import * as grpc from '@grpc/grpc-js';
import { appendHandler, batchAppendHandler } from './append.js';
import { supportedMethodsHandler } from './features.js';
import { StandinLog } from './log.js';
import { featuresGrpc, streamsGrpc } from './proto.js';
import { readHandler } from './read.js';

export type StandinVersion = '20.6.1' | '21.10.0' | '23.10.0';

/** What changed between the server versions the client supports (each line: where it is seen). */
export interface Capabilities {
  /** ServerFeatures service: src/Protos/Grpc/serverfeatures.proto first appears in oss-v21.10.0. */
  serverFeatures: boolean;
  /** Streams.BatchAppend: first in oss-v21.6.0's streams.proto (the client uses it only when ServerFeatures lists it). */
  batchAppend: boolean;
  /** Stream reads carry $all positions: ResolvedEvent.CalculatePosition (IsSelfCommitted) from oss-v22.10.0; before, ulong.MaxValue and no_position. */
  streamReadPositions: boolean;
  /** ReadResp.caught_up on subscriptions: streams.proto and Enumerators.AllSubscriptionFiltered from oss-v23.10.0. */
  caughtUp: boolean;
}

export function capabilitiesOf(version: StandinVersion): Capabilities {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  return { serverFeatures: atLeast(21, 10), batchAppend: atLeast(21, 6), streamReadPositions: atLeast(22, 10), caughtUp: atLeast(23, 10) };
}

export interface StandinStats {
  /** Calls received, by method name (Read, Append, BatchAppend, GetSupportedMethods). */
  calls: Record<string, number>;
  /** Events sent to clients by reads and subscriptions. */
  eventsSent: number;
  /** Streaming calls in progress right now. */
  active: number;
  /** Live subscriptions dropped as "consumer too slow". */
  slowConsumerDrops: number;
}

export interface StandinFaults {
  /** Answer every call UNAVAILABLE "Server Is Not Ready" (RpcExceptions.ServerNotReady). */
  notReady: boolean;
  /** Accept calls and never answer them (a hung node that still answers HTTP/2 pings): all, or these methods. */
  stall: boolean | readonly ('Read' | 'Append' | 'BatchAppend' | 'GetSupportedMethods')[];
  /** Writes never complete: answered as the request manager's prepare timeout, after 2 s or the write's deadline. */
  writeTimeout: boolean;
  /** This node is a follower: calls carrying `requires-leader: true` are refused with the leader's address. */
  leader: { host: string; port: number } | null;
}

/** Ends a streaming call with a status; registered while the call runs. */
type Abort = (status: grpc.StatusObject) => void;

export class StandinNode {
  readonly log: StandinLog;
  readonly version: StandinVersion;
  readonly capabilities: Capabilities;
  readonly stats: StandinStats = { calls: {}, eventsSent: 0, active: 0, slowConsumerDrops: 0 };
  readonly faults: StandinFaults = { notReady: false, stall: false, writeTimeout: false, leader: null };
  readonly #streams = new Set<Abort>();
  #server: grpc.Server | undefined;
  #port = 0;

  constructor(options: { log?: StandinLog; version?: StandinVersion } = {}) {
    this.log = options.log ?? new StandinLog();
    this.version = options.version ?? '23.10.0';
    this.capabilities = capabilitiesOf(this.version);
  }

  get port(): number {
    return this.#port;
  }

  /** The connection string the client takes (single node, no TLS). */
  get url(): string {
    return `esdb://127.0.0.1:${this.#port}?tls=false`;
  }

  async start(port = this.#port): Promise<void> {
    const server = new grpc.Server();
    const streams: grpc.UntypedServiceImplementation = { read: readHandler(this), append: appendHandler(this) };
    if (this.capabilities.batchAppend) streams['batchAppend'] = batchAppendHandler(this);
    server.addService(streamsGrpc.StreamsService as unknown as grpc.ServiceDefinition, streams);
    // Before 21.10 the service does not exist: grpc answers UNIMPLEMENTED, which the client takes
    // as "unknown version, no optional features" (dist/Client/ServerFeatures.js).
    if (this.capabilities.serverFeatures) {
      server.addService(featuresGrpc.ServerFeaturesService as unknown as grpc.ServiceDefinition, { getSupportedMethods: supportedMethodsHandler(this) });
    }
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    this.#server = server;
  }

  /** The node dies: every connection is cut mid-call and the port refuses new ones until start(). */
  kill(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.#streams.clear();
  }

  async stop(): Promise<void> {
    this.kill();
  }

  /** Ends every streaming call in progress (reads, subscriptions, batch appends) with this status. */
  dropStreams(code: grpc.status = grpc.status.UNAVAILABLE, details = 'Connection dropped'): number {
    const aborts = [...this.#streams];
    for (const abort of aborts) abort({ code, details, metadata: new grpc.Metadata() });
    return aborts.length;
  }

  stalls(method: string): boolean {
    const stall = this.faults.stall;
    return stall === true || (Array.isArray(stall) && stall.includes(method));
  }

  count(method: string): void {
    this.stats.calls[method] = (this.stats.calls[method] ?? 0) + 1;
  }

  /** Registers a streaming call so dropStreams can end it; returns the unregister function. */
  track(abort: Abort): () => void {
    this.#streams.add(abort);
    this.stats.active += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#streams.delete(abort);
      this.stats.active -= 1;
    };
  }

  /**
   * What a call meets before the node serves it: undefined (serve), 'stall', or the status the
   * real server answers — "Server Is Not Ready" while not ready, and on a follower, for a call
   * that requires the leader, NotFound "Leader info available" with the leader's endpoint in the
   * trailers (RpcExceptions.LeaderInfo; the client reads them into NotLeaderError.leader).
   */
  gate(metadata: grpc.Metadata, method: string): grpc.StatusObject | 'stall' | undefined {
    if (this.stalls(method)) return 'stall';
    if (this.faults.notReady) return { code: grpc.status.UNAVAILABLE, details: 'Server Is Not Ready', metadata: new grpc.Metadata() };
    const leader = this.faults.leader;
    if (leader && metadata.get('requires-leader')[0] === 'true') {
      const trailers = new grpc.Metadata();
      trailers.set('exception', 'not-leader');
      trailers.set('leader-endpoint-host', leader.host);
      trailers.set('leader-endpoint-port', String(leader.port));
      return { code: grpc.status.NOT_FOUND, details: 'Leader info available', metadata: trailers };
    }
    return undefined;
  }
}

/** Starts a node on a free port (or the one given). */
export async function startStandin(options: { log?: StandinLog; version?: StandinVersion; port?: number } = {}): Promise<StandinNode> {
  const node = new StandinNode(options);
  await node.start(options.port ?? 0);
  return node;
}
