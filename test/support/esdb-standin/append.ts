// Streams.Append (one client stream per append) and Streams.BatchAppend (one long-lived duplex
// stream that carries many appends, each named by a correlation id), answered as the server does.

import * as grpc from '@grpc/grpc-js';
import type { ExpectedRevision, LogRecord, ProposedEvent } from './log.js';
import type { StandinNode } from './node.js';
import {
  emptyPb,
  rpcStatus,
  sharedPb,
  streamIdentifier,
  streamName,
  streamsPb,
  uuidIn,
  type AppendReq,
  type BatchAppendReq,
  type BatchAppendResp,
} from './proto.js';

/** google.rpc.Code values (the server's Status.cs uses Code.*). */
const Code = { DEADLINE_EXCEEDED: 4, ALREADY_EXISTS: 6 } as const;

type Proposed = { getId(): import('./proto.js').UUID | undefined; getMetadataMap(): { get(key: string): string | undefined }; getData_asU8(): Uint8Array; getCustomMetadata_asU8(): Uint8Array };

/** The server requires both metadata entries (RpcExceptions.RequiredMetadataPropertyMissing). */
function proposed(message: Proposed): ProposedEvent {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (!type || !contentType) throw Object.assign(new Error(`Required Metadata Property '${type ? 'content-type' : 'type'}' is missing`), { code: grpc.status.INVALID_ARGUMENT });
  return { id: uuidIn(message.getId()), type, contentType, data: Buffer.from(message.getData_asU8()), metadata: Buffer.from(message.getCustomMetadata_asU8()) };
}

/** A write that never completes fails as the server's request manager fails it: after its write timeout (default 2 s, --write-timeout-ms). */
const WRITE_TIMEOUT_MS = 2000;

export function appendHandler(node: StandinNode): grpc.handleClientStreamingCall<AppendReq, unknown> {
  return (call, callback) => {
    node.count('Append');
    let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
    const events: ProposedEvent[] = [];
    let failed = false;
    const fail = (error: Partial<grpc.StatusObject>) => {
      if (failed) return;
      failed = true;
      callback(error as grpc.ServiceError);
    };
    call.on('data', (request: AppendReq) => {
      try {
        // Streams.Append.cs: the first message must be the options, every later one a proposed message.
        if (!options) {
          if (!request.hasOptions()) throw Object.assign(new Error('Operation is not valid due to the current state of the object.'), { code: grpc.status.UNKNOWN });
          options = request.getOptions();
        } else {
          events.push(proposed(request.getProposedMessage()!));
        }
      } catch (error) {
        fail({ code: (error as { code?: number }).code ?? grpc.status.UNKNOWN, details: (error as Error).message });
      }
    });
    call.on('end', () => {
      if (failed || !options) return;
      const gate = node.gate(call.metadata, 'Append');
      if (gate === 'stall') return;
      if (gate) return fail(gate);
      const expected = expectedOf(options);
      if (node.faults.writeTimeout) {
        // OperationResult.PrepareTimeout → RpcExceptions.Timeout: StatusCode.Aborted (the client's TimeoutError).
        setTimeout(() => fail({ code: grpc.status.ABORTED, details: 'Operation timed out: Prepare phase timeout.' }), WRITE_TIMEOUT_MS);
        return;
      }
      const outcome = node.log.append(streamName(options.getStreamIdentifier()), expected, events);
      const response = new streamsPb.AppendResp();
      if (outcome.ok) {
        const success = new streamsPb.AppendResp.Success();
        if (outcome.currentRevision < 0) success.setNoStream(new sharedPb.Empty());
        else success.setCurrentRevision(String(outcome.currentRevision));
        const last = outcome.records.at(-1);
        if (last) success.setPosition(new streamsPb.AppendResp.Position().setCommitPosition(String(last.position)).setPreparePosition(String(last.position)));
        else success.setNoPosition(new sharedPb.Empty());
        response.setSuccess(success);
      } else {
        response.setWrongExpectedVersion(appendWrongExpectedVersion(options, outcome.currentRevision));
      }
      callback(null, response);
    });
  };
}

function expectedOf(options: { hasRevision?(): boolean; getRevision?(): string; hasNoStream(): boolean; hasAny(): boolean; hasStreamExists(): boolean; hasStreamPosition?(): boolean; getStreamPosition?(): string }): ExpectedRevision {
  if (options.hasAny()) return 'any';
  if (options.hasNoStream()) return 'no_stream';
  if (options.hasStreamExists()) return 'stream_exists';
  return BigInt((options.getRevision ?? options.getStreamPosition)!.call(options));
}

/**
 * Streams.Append.cs fills both the 20.6.0 fields and the current ones: the expected revision as
 * sent, the current revision or current_no_stream. (It also sends no_stream as
 * expected_revision_20_6_0 = ulong.MaxValue, which the client's generated code holds as a JS
 * number and cannot write; the client reads only the current fields, so it is left out.)
 */
function appendWrongExpectedVersion(options: InstanceType<typeof streamsPb.AppendReq.Options>, current: number) {
  const wev = new streamsPb.AppendResp.WrongExpectedVersion();
  if (options.hasAny()) wev.setExpectedAny(new sharedPb.Empty()).setAny2060(new sharedPb.Empty());
  else if (options.hasStreamExists()) wev.setExpectedStreamExists(new sharedPb.Empty()).setStreamExists2060(new sharedPb.Empty());
  else if (options.hasNoStream()) wev.setExpectedNoStream(new sharedPb.Empty());
  else wev.setExpectedRevision(options.getRevision()).setExpectedRevision2060(Number(options.getRevision()));
  if (current < 0) wev.setCurrentNoStream(new sharedPb.Empty()).setNoStream2060(new sharedPb.Empty());
  else wev.setCurrentRevision(String(current)).setCurrentRevision2060(current);
  return wev;
}

interface PendingWrite {
  stream: string;
  expected: ExpectedRevision;
  options: InstanceType<typeof streamsPb.BatchAppendReq.Options>;
  events: ProposedEvent[];
  timer: NodeJS.Timeout;
}

export function batchAppendHandler(node: StandinNode): grpc.handleBidiStreamingCall<BatchAppendReq, BatchAppendResp> {
  return (call) => {
    node.count('BatchAppend');
    const pending = new Map<string, PendingWrite>();
    let ended = false;
    const end = (status?: grpc.StatusObject) => {
      if (ended) return;
      ended = true;
      untrack();
      for (const write of pending.values()) clearTimeout(write.timer);
      if (status) call.emit('error', status);
      else call.end();
    };
    const untrack = node.track((status) => end(status));
    call.on('cancelled', () => end());
    call.on('error', () => end());
    const respond = (correlation: BatchAppendReq['getCorrelationId'] extends () => infer U ? U : never, stream: string, fill: (resp: BatchAppendResp) => void) => {
      if (ended) return;
      const resp = new streamsPb.BatchAppendResp().setCorrelationId(correlation).setStreamIdentifier(streamIdentifier(stream));
      fill(resp);
      call.write(resp);
    };
    call.on('data', (request: BatchAppendReq) => {
      const correlation = request.getCorrelationId();
      const id = uuidIn(correlation);
      const options = request.getOptions();
      if (options) {
        const stream = streamName(options.getStreamIdentifier());
        // Streams.BatchAppend.cs: each write times out at min(its deadline, the write timeout),
        // answered as Status.Timeout (Code.DeadlineExceeded, detail event_store.client.Timeout).
        const deadline = options.getDeadline()?.toDate().getTime() ?? Number.POSITIVE_INFINITY;
        const timeout = Math.max(0, Math.min(deadline - Date.now(), WRITE_TIMEOUT_MS));
        const timer = setTimeout(() => {
          // An unresponsive node answers nothing at all.
          if (node.stalls('BatchAppend') || !pending.delete(id)) return;
          respond(correlation, stream, (resp) => resp.setError(rpcStatus(Code.DEADLINE_EXCEEDED, 'Timeout', new sharedPb.Timeout(), 'event_store.client.Timeout')));
        }, timeout);
        pending.set(id, { stream, expected: expectedOf(options), options, events: [], timer });
      }
      const write = pending.get(id);
      if (!write) return;
      try {
        write.events.push(...request.getProposedMessagesList().map(proposed));
      } catch (error) {
        pending.delete(id);
        clearTimeout(write.timer);
        return end({ code: grpc.status.INVALID_ARGUMENT, details: (error as Error).message, metadata: new grpc.Metadata() });
      }
      if (!request.getIsFinal()) return;
      const gate = node.gate(call.metadata, 'BatchAppend');
      // A stalled node leaves the write pending for ever; one whose writes time out, until its timer answers Timeout.
      if (gate === 'stall' || node.faults.writeTimeout) return;
      pending.delete(id);
      clearTimeout(write.timer);
      // NotHandled(NotLeader) with leader info throws RpcExceptions.LeaderInfo inside ConvertMessage,
      // which completes the whole call with that status (Streams.BatchAppend.cs); NotReady answers
      // this write alone with a Status whose detail is an Empty and whose message says why.
      if (gate?.code === grpc.status.NOT_FOUND) return end(gate);
      if (gate) return respond(correlation, write.stream, (resp) => resp.setError(rpcStatus(0, gate.details, new emptyPb.Empty(), 'google.protobuf.Empty')));
      const outcome = node.log.append(write.stream, write.expected, write.events);
      respond(correlation, write.stream, (resp) => {
        if (outcome.ok) resp.setSuccess(batchSuccess(outcome.records, outcome.currentRevision));
        else resp.setError(rpcStatus(Code.ALREADY_EXISTS, 'WrongExpectedVersion', batchWrongExpectedVersion(write.expected, outcome.currentRevision), 'event_store.client.WrongExpectedVersion'));
      });
    });
    call.on('end', () => end());
  };
}

/** BatchAppendResp.cs Success.Completed: the position of the last event, the stream's revision. */
function batchSuccess(records: readonly LogRecord[], currentRevision: number) {
  const success = new streamsPb.BatchAppendResp.Success();
  if (currentRevision < 0) success.setNoStream(new emptyPb.Empty());
  else success.setCurrentRevision(String(currentRevision));
  const last = records.at(-1);
  if (last) success.setPosition(new sharedPb.AllStreamPosition().setCommitPosition(String(last.position)).setPreparePosition(String(last.position)));
  else success.setNoPosition(new emptyPb.Empty());
  return success;
}

/** WrongExpectedVersion.cs Create: current revision or current_no_stream; the expectation as sent. */
function batchWrongExpectedVersion(expected: ExpectedRevision, current: number) {
  const wev = new sharedPb.WrongExpectedVersion();
  if (current < 0) wev.setCurrentNoStream(new emptyPb.Empty());
  else wev.setCurrentStreamRevision(String(current));
  if (expected === 'any') wev.setExpectedAny(new emptyPb.Empty());
  else if (expected === 'no_stream') wev.setExpectedNoStream(new emptyPb.Empty());
  else if (expected === 'stream_exists') wev.setExpectedStreamExists(new emptyPb.Empty());
  else wev.setExpectedStreamPosition(String(expected));
  return wev;
}
