// The wire format of the stand-in: the very message classes and service definitions that
// @eventstore/db-client ships (its generated/*_pb.js and *_grpc_pb.js, compiled from the server's
// protos), loaded from the client's own folder so both ends share one google-protobuf.

import { createRequire } from 'node:module';

const fromClient = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client/package.json'));

export const streamsPb = fromClient('./generated/streams_pb.js') as typeof import('@eventstore/db-client/generated/streams_pb.js');
export const streamsGrpc = fromClient('./generated/streams_grpc_pb.js') as typeof import('@eventstore/db-client/generated/streams_grpc_pb.js');
export const sharedPb = fromClient('./generated/shared_pb.js') as typeof import('@eventstore/db-client/generated/shared_pb.js');
export const statusPb = fromClient('./generated/status_pb.js') as typeof import('@eventstore/db-client/generated/status_pb.js');
export const codePb = fromClient('./generated/code_pb.js') as typeof import('@eventstore/db-client/generated/code_pb.js');
export const featuresPb = fromClient('./generated/serverfeatures_pb.js') as typeof import('@eventstore/db-client/generated/serverfeatures_pb.js');
export const featuresGrpc = fromClient('./generated/serverfeatures_grpc_pb.js') as typeof import('@eventstore/db-client/generated/serverfeatures_grpc_pb.js');
export const anyPb = fromClient('google-protobuf/google/protobuf/any_pb.js') as typeof import('google-protobuf/google/protobuf/any_pb.js');
export const emptyPb = fromClient('google-protobuf/google/protobuf/empty_pb.js') as typeof import('google-protobuf/google/protobuf/empty_pb.js');

export type ReadReq = import('@eventstore/db-client/generated/streams_pb.js').ReadReq;
export type ReadResp = import('@eventstore/db-client/generated/streams_pb.js').ReadResp;
export type AppendReq = import('@eventstore/db-client/generated/streams_pb.js').AppendReq;
export type AppendResp = import('@eventstore/db-client/generated/streams_pb.js').AppendResp;
export type BatchAppendReq = import('@eventstore/db-client/generated/streams_pb.js').BatchAppendReq;
export type BatchAppendResp = import('@eventstore/db-client/generated/streams_pb.js').BatchAppendResp;
export type UUID = import('@eventstore/db-client/generated/shared_pb.js').UUID;
export type StreamIdentifier = import('@eventstore/db-client/generated/shared_pb.js').StreamIdentifier;

/** UUIDs as the client asked for them (it always asks for strings: UUIDOption.string). */
export function uuidOut(id: string): UUID {
  return new sharedPb.UUID().setString(id);
}

/**
 * A UUID the client sent: a string, or the structured form (two big-endian 64-bit halves). The
 * server parses strings with Guid.Parse (Uuid.FromDto), which refuses anything but a GUID.
 */
export function uuidIn(uuid: UUID | undefined): string {
  if (!uuid) throw new Error('missing UUID');
  if (uuid.hasString()) {
    const text = uuid.getString().replace(/^\{(.*)\}$/, '$1');
    if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text)) throw new Error(`Unrecognized Guid format: ${text}`);
    const hex = text.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const structured = uuid.getStructured()!;
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())), 0);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())), 8);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function streamName(identifier: StreamIdentifier | undefined): string {
  return Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
}

export function streamIdentifier(name: string): StreamIdentifier {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(name, 'utf8'));
}

/** google.rpc.Status with a packed detail message, as the server's Status.cs builds them. */
export function rpcStatus(code: number, message: string, detail: { serializeBinary(): Uint8Array }, typeName: string) {
  const any = new anyPb.Any();
  any.pack(detail.serializeBinary(), typeName);
  return new statusPb.Status().setCode(code).setMessage(message).setDetails(any);
}
