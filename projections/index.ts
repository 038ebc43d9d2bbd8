import { clientsProjection } from './clients.js';
import { codesProjection } from './authorization-codes.js';
import { consentsProjection } from './consents.js';
import { devicesProjection } from './device-authorizations.js';
import { sessionsProjection } from './sessions.js';
import { tokensProjection } from './tokens.js';
import type { Projection } from './types.js';

/** Every read model Warrant keeps, in the order they are started and rebuilt. */
export const projections: readonly Projection[] = [clientsProjection, tokensProjection, codesProjection, devicesProjection, sessionsProjection, consentsProjection];

/** Names of the projections that handle any of these event types: what a writer waits for. */
export function projectionsFor(eventTypes: readonly string[]): string[] {
  return projections.filter((p) => p.eventTypes.some((type) => eventTypes.includes(type))).map((p) => p.name);
}

export { clientsProjection, codesProjection, consentsProjection, devicesProjection, sessionsProjection, tokensProjection };
export { readCheckpoints, type Checkpoint } from './checkpoints.js';
export { inlineProjector } from './inline.js';
export { ProjectionRunner, type RunnerStatus } from './runner.js';
export { ProjectionWaiter, ProjectionTimeoutError } from './waiter.js';
export { rebuildProjection, dumpTables } from './rebuild.js';
export type { Projection, SqlStatement } from './types.js';
