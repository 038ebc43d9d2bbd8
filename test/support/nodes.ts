// Several real `warrant serve` processes sharing one database, signing key and pepper — the
// deployment of docs/deployment.md — for the multi-process, crash and fault tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ensureKey } from '../../src/keys/keystore.js';
import { ensurePepper } from '../../src/keys/pepper.js';
import { freePort, run, start, waitForHttp } from './process.js';
import { basic, postForm } from './server.js';

export interface WarrantNode {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export interface Readiness {
  status: string;
  projections: Record<string, { position: number; lag: number; runningHere: boolean }>;
}

export class Nodes {
  readonly nodes: WarrantNode[] = [];
  private constructor(
    readonly databaseUrl: string,
    readonly storage: string,
    readonly issuer: string,
    readonly settings: Record<string, string>,
  ) {}

  /** `settings`: more environment for every node and command (e.g. WARRANT_RATE_LIMIT_FAILURES). */
  static async create(databaseUrl: string, settings: Record<string, string> = {}): Promise<Nodes> {
    const storage = await mkdtemp(path.join(tmpdir(), 'warrant-nodes-'));
    await ensureKey(storage, { alg: 'ES256' });
    await ensurePepper(storage);
    return new Nodes(databaseUrl, storage, `http://127.0.0.1:${await freePort()}`, settings);
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return { DATABASE_URL: this.databaseUrl, WARRANT_STORAGE: this.storage, ISSUER: this.issuer, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...this.settings, ...extra };
  }

  /** Starts a node (on `port` if given, e.g. to restart a killed one) and waits until it answers. */
  async start(port?: number): Promise<WarrantNode> {
    const chosen = port ?? (await freePort());
    const started = start(['serve'], this.env({ PORT: String(chosen) }));
    const node: WarrantNode = { url: `http://127.0.0.1:${chosen}`, port: chosen, ...started };
    this.nodes.push(node);
    await Promise.race([
      waitForHttp(`${node.url}/healthz`),
      node.exited.then((code) => {
        throw new Error(`warrant serve exited with ${code}: ${node.output()}`);
      }),
    ]);
    return node;
  }

  async client(): Promise<{ id: string; secret: string; authorization: string }> {
    const created = await run(['client', 'create', '--name', 'nodes', '--grant', 'client_credentials', '--scope', 'read', '--json'], this.env());
    if (created.code !== 0) throw new Error(created.stderr);
    const { client_id: id, client_secret: secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    return { id, secret, authorization: basic(id, secret) };
  }

  static async readiness(node: WarrantNode): Promise<Readiness> {
    return (await (await fetch(`${node.url}/readyz`)).json()) as Readiness;
  }

  static async token(node: WarrantNode, authorization: string) {
    return postForm(`${node.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization });
  }

  /** Which live node runs each projection (exactly one per projection, or this throws). */
  async leaders(live: WarrantNode[]): Promise<Record<string, WarrantNode[]>> {
    const states = await Promise.all(live.map((node) => Nodes.readiness(node)));
    const leaders: Record<string, WarrantNode[]> = {};
    states.forEach((state, i) => {
      for (const [name, projection] of Object.entries(state.projections)) {
        leaders[name] ??= [];
        if (projection.runningHere) leaders[name].push(live[i]!);
      }
    });
    return leaders;
  }

  kill(node: WarrantNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    node.child.kill(signal);
    return node.exited;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM');
    await Promise.all(this.nodes.map((node) => node.exited));
    await rm(this.storage, { recursive: true, force: true });
  }
}

/** The claims of a JWT, unverified (tests only: to learn the jti of a token we were given). */
export function claims(jwt: string): { jti: string; [claim: string]: unknown } {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { jti: string };
}
