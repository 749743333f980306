/**
 * What a receiving thread's delta table ships at each drain, and the place key of its rows: the
 * one format both threads read (DeltaTable writes it, PairStore.mergeBatch reads it).
 */
import type { EndLabels } from './aggregation-level.ts';
import { conversationBuffers, type ConversationBatch } from './conversation-batch.ts';
import type { Place } from './zone-class.ts';

/**
 * One drain: row i is (end src[i], end dst[i], dims[i]) += (flows, bytes, packets); src -1 is the
 * overflow pair. End numbers are the sender's own: `ends` holds the labels of numbers
 * [firstEnd, firstEnd + ends.length), first shipped in this batch; `reset` says the sender
 * started its numbering over before them.
 */
export interface DeltaBatch {
  reset: boolean;
  firstEnd: number;
  ends: EndLabels[];
  src: Int32Array;
  dst: Int32Array;
  dims: Uint32Array;
  flows: Float64Array;
  bytes: Float64Array;
  packets: Float64Array;
  lastMs: Float64Array;
  /** Conversations (server side of each connection) in the same end numbers, when kept. */
  conversations?: ConversationBatch;
  /**
   * Where row i's ends are (see whereOf): the sender's place numbers and whether both ends are
   * on one node. Places are numbered like ends: `places` holds those from `firstPlace` on, first
   * shipped in this batch (number 0 is always NOWHERE); they start over with the ends.
   */
  where?: Uint32Array;
  firstPlace?: number;
  places?: Place[];
}

/** Every array of a batch, to transfer it to the main thread instead of copying it. */
export function deltaBuffers(b: DeltaBatch): ArrayBuffer[] {
  const out = [
    b.src.buffer,
    b.dst.buffer,
    b.dims.buffer,
    b.flows.buffer,
    b.bytes.buffer,
    b.packets.buffer,
    b.lastMs.buffer,
  ] as ArrayBuffer[];
  if (b.where) out.push(b.where.buffer as ArrayBuffer);
  if (b.conversations) out.push(...conversationBuffers(b.conversations));
  return out;
}

/**
 * Place numbers a table hands out; past this, further places count as NOWHERE. All ones (13 bits),
 * so it is also the mask of a place number wherever one is packed (whereOf, the address memo).
 */
export const MAX_PLACES = 8191;

/** A row's place key: source and destination place numbers, and whether both ends are on one node. */
export function whereOf(srcPlace: number, dstPlace: number, sameNode: boolean): number {
  return ((srcPlace << 16) | (dstPlace << 1) | (sameNode ? 1 : 0)) >>> 0;
}

/** The source place number of a place key (whereOf). */
export function whereSrc(where: number): number {
  return (where >>> 16) & MAX_PLACES;
}

/** The destination place number of a place key (whereOf). */
export function whereDst(where: number): number {
  return (where >>> 1) & MAX_PLACES;
}

/** Whether a place key (whereOf) says both ends are on one node. */
export function whereSameNode(where: number): boolean {
  return (where & 1) === 1;
}
