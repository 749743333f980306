/**
 * Conversations as a receiving thread ships them: flows, bytes, first and last seen per (client
 * end, server end, server port, protocol), the server side of every connection that NetworkPolicy
 * suggestions and checks need. Records whose role the ports did not decide are kept apart, keyed
 * (source end, destination end, 0, protocol) with the UNDECIDED bit, because they must never
 * count as permissions.
 *
 * They cost the receive path nothing of their own: with conversations on, the delta table keys its
 * rows by protocol and server port whatever --extra-labels says, and its drain derives both the
 * pair batch (those dimensions masked off again, so the seed's series stay as they are) and this
 * batch from the same rows (see DeltaTable).
 */

/** Set in a conversation's key when the ports did not say which end is the client. */
export const UNDECIDED = 1 << 24;

/** key = UNDECIDED? | protocol << 16 | server port. */
export const convProto = (key: number): number => (key >>> 16) & 255;
export const convPort = (key: number): number => key & 0xffff;
export const convUndecided = (key: number): boolean => (key & UNDECIDED) !== 0;

/** One drain, in the end numbers of the delta batch it travels with. */
export interface ConversationBatch {
  client: Int32Array;
  server: Int32Array;
  key: Uint32Array;
  flows: Float64Array;
  bytes: Float64Array;
  firstMs: Float64Array;
  lastMs: Float64Array;
  /** Flows that went to the delta table's overflow row this interval: their conversations are not known. */
  dropped: number;
}

export function conversationBuffers(b: ConversationBatch): ArrayBuffer[] {
  return [
    b.client.buffer,
    b.server.buffer,
    b.key.buffer,
    b.flows.buffer,
    b.bytes.buffer,
    b.firstMs.buffer,
    b.lastMs.buffer,
  ] as ArrayBuffer[];
}
