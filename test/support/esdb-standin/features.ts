// ServerFeatures.GetSupportedMethods, the call the client makes before its first append (and after
// each reconnection) to learn whether it may use BatchAppend (dist/streams/appendToStream/index.js).

import type * as grpc from '@grpc/grpc-js';
import type { StandinNode } from './node.js';
import { featuresPb } from './proto.js';

/**
 * As the server builds the list (oss-v23.10.6, Services/Transport/Grpc/ServerFeatures.cs): every
 * gRPC method of the client services, names lower-cased, Read with features "position" and
 * "events", BatchAppend with "deadline_duration"; the version as major.minor.patch. Only the
 * services the stand-in serves are listed (the client consults the list for BatchAppend,
 * persistent subscriptions and projections; Warrant uses neither of the last two).
 */
export function supportedMethodsHandler(node: StandinNode): grpc.handleUnaryCall<unknown, unknown> {
  return (_call, callback) => {
    node.count('GetSupportedMethods');
    // It answers from the endpoint table, not through the node's request queue: only a hung node
    // fails to answer it (not-ready and not-leader apply to reads and writes).
    if (node.stalls('GetSupportedMethods')) return;
    const service = 'event_store.client.streams.streams';
    const methods = [
      ['read', ['position', 'events']],
      ['append', []],
      ['delete', []],
      ['tombstone', []],
      ...(node.capabilities.batchAppend ? [['batchappend', ['deadline_duration']] as const] : []),
    ] as const;
    const result = new featuresPb.SupportedMethods().setEventStoreServerVersion(node.version);
    for (const [name, features] of methods) {
      result.addMethods(new featuresPb.SupportedMethod().setServiceName(service).setMethodName(name).setFeaturesList([...features]));
    }
    result.addMethods(new featuresPb.SupportedMethod().setServiceName('event_store.client.server_features.serverfeatures').setMethodName('getsupportedmethods'));
    callback(null, result);
  };
}
