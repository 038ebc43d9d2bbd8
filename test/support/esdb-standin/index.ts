// A protocol-level stand-in for EventStoreDB (issue 19): a gRPC server in this process speaking
// the wire protocol of @eventstore/db-client's own generated definitions, over an in-memory log.
// What it models, and what it does not, is listed in ./README.md.

export { StandinLog, type LogRecord } from './log.js';
export { StandinNode, startStandin, capabilitiesOf, type StandinVersion, type StandinFaults, type StandinStats } from './node.js';
