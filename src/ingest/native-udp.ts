/**
 * The batched receive path (native/udp_recv.c): a UDP socket read with recvmmsg(2) into one
 * buffer shared with JavaScript, one callback per batch. Node's dgram costs about 9 µs per
 * datagram (a 64 KiB allocation, an rinfo object with an address string, an emit); a batch
 * costs one call, and a datagram a slot and a few words of metadata.
 *
 * The addon is optional: where it was not built (not Linux, no compiler) `loadNativeUdp` says why
 * and the receiving thread uses dgram instead.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Words of metadata per datagram, as the addon lays them out (see META in native/udp_recv.c). */
export const META_WORDS = 8;
/** Offsets within one datagram's metadata words. */
export const META_LENGTH = 0;
/** 4 or 6; an IPv4-mapped IPv6 source is reported as 4. */
export const META_FAMILY = 1;
export const META_PORT = 2;
/** 1 when the datagram was longer than its slot (only its first slotSize bytes are there). */
export const META_TRUNCATED = 3;
/** The IPv4 address (host order), or the first of four words holding the 16 IPv6 bytes in network order. */
export const META_ADDRESS = 4;

export interface NativeUdpStats {
  /** The socket's SO_RXQ_OVFL counter: datagrams the kernel dropped because the receive buffer was full. */
  kernelDrops: number;
  truncated: number;
  batches: number;
  wakeups: number;
}

/** What the addon returns from open(). */
export interface NativeUdpHandle {
  /** `slots` x `slotSize` bytes; datagram i of a batch starts at i * slotSize. */
  readonly buffer: ArrayBuffer;
  readonly meta: ArrayBuffer;
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly recvBufferBytes: number;
  readonly slots: number;
  readonly slotSize: number;
  readonly metaWords: number;
  close(): void;
  stats(): NativeUdpStats;
}

export interface NativeUdpOpenOptions {
  recvBuffer?: number;
  reusePort?: boolean;
  /** Datagrams per recvmmsg call (default 64). */
  slots?: number;
  /** Bytes per slot (default 65,535, the largest UDP payload); longer datagrams are reported truncated. */
  slotSize?: number;
  /** recvmmsg calls per readable event before the loop gets a turn (default 8). */
  maxBatches?: number;
  /**
   * With reusePort, 2..1024 spreads the group's datagrams at random over its first `spread`
   * sockets, each datagram on its own (a classic BPF program on the group), instead of the kernel's
   * hash of the 4-tuple, which keeps each exporter on one socket and so loads threads unevenly
   * when exporters are few. 0 or 1 (the default 0) leaves the hash. The program is the group's:
   * open every socket of a port with the same value. Without reusePort it has no effect.
   */
  spread?: number;
  /** A stop flag shared with the main thread (word 0): while set, no more batches are read (see pipeline/threads/thread-control.ts). */
  stop?: Int32Array;
}

interface Addon {
  open(host: string, port: number, options: NativeUdpOpenOptions, onBatch: (count: number) => void): NativeUdpHandle;
  /** malloc_trim(0) where the C library has it; absent from builds older than it. */
  trim?(): boolean;
  /** The same on libuv's pool (observe/malloc-trim.ts). */
  trimAsync?(): Promise<void>;
}

/**
 * The package root is two levels up from both src/ingest/ (type-stripped sources) and
 * dist/ingest/ (compiled), so one relative path serves both.
 */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/udp_recv.node', import.meta.url));

let loaded: { addon: Addon } | { error: string } | undefined;

/** The addon, or why it is not there. Loaded once per thread (each worker thread has its own module instance). */
export function loadNativeUdp(path = NATIVE_ADDON_PATH): { addon: Addon } | { error: string } {
  if (path === NATIVE_ADDON_PATH && loaded !== undefined) return loaded;
  let result: { addon: Addon } | { error: string };
  if (process.platform !== 'linux') result = { error: `recvmmsg is Linux-only (this is ${process.platform})` };
  else if (!existsSync(path)) result = { error: `${path} not found (npm run build:native builds it)` };
  else {
    try {
      const addon = createRequire(import.meta.url)(path) as Addon;
      result = typeof addon.open === 'function' ? { addon } : { error: `${path} has no open()` };
    } catch (err) {
      result = { error: `${path} does not load: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  if (path === NATIVE_ADDON_PATH) loaded = result;
  return result;
}

/**
 * Hands the pages malloc keeps free, in every thread's arena, back to the system (the addon's
 * trim(): glibc's malloc_trim). V8 compiles in malloc'd zones and frees them to malloc, which keeps
 * them: after the receiving threads' warm-up and the start-up that is several MiB of RSS. False
 * when nothing was returned or there is no addon to ask.
 */
export function trimNativeHeap(): boolean {
  const n = loadNativeUdp();
  return 'addon' in n && typeof n.addon.trim === 'function' ? n.addon.trim() : false;
}

/** trimNativeHeap on libuv's pool, where the addon is built and has it (for the main thread's periodic trim). */
export function nativeTrimAsync(): (() => Promise<void>) | undefined {
  const n = loadNativeUdp();
  return 'addon' in n && typeof n.addon.trimAsync === 'function' ? n.addon.trimAsync : undefined;
}

/** A batch as the receive loop reads it: views made once over the addon's buffers. */
export interface DatagramBatch {
  readonly bytes: Uint8Array;
  readonly meta: Uint32Array;
  readonly slotSize: number;
}

export function batchViews(h: NativeUdpHandle): DatagramBatch {
  if (h.metaWords !== META_WORDS)
    throw new Error(`native UDP addon lays out ${h.metaWords} metadata words, this code expects ${META_WORDS}: rebuild it`);
  return { bytes: new Uint8Array(h.buffer), meta: new Uint32Array(h.meta), slotSize: h.slotSize };
}

/**
 * Open a native socket whose batches go to `onBatch(batch, count)`. The datagrams are valid only
 * during the call: the next recvmmsg overwrites them.
 */
export function openNativeUdp(
  addon: Addon,
  host: string,
  port: number,
  options: NativeUdpOpenOptions,
  onBatch: (batch: DatagramBatch, count: number) => void,
): NativeUdpHandle {
  let batch: DatagramBatch | undefined;
  const handle = addon.open(host, port, options, (count) => onBatch(batch!, count));
  // Nothing can arrive before this line: the addon's poll fires on a later turn of the loop.
  batch = batchViews(handle);
  return handle;
}
