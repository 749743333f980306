/**
 * Frame Streams (the framing under dnstap), as a pure incremental reader plus the few frames a
 * reader sends back. No maintained npm package speaks it: `frame-stream` is plain
 * length-prefixed framing without control frames or the handshake.
 *
 * A frame is a 32-bit big-endian length and that many bytes. Length 0 escapes a control frame:
 * its own 32-bit length, a 32-bit control type, then fields (type, length, value). A writer on a
 * bidirectional stream (unbound, CoreDNS) sends READY listing content types; the reader answers
 * ACCEPT with the one it takes; the writer sends START, data frames, STOP; the reader answers
 * FINISH. A unidirectional writer starts at START.
 */

export const CONTROL_ACCEPT = 0x01;
export const CONTROL_START = 0x02;
export const CONTROL_STOP = 0x03;
export const CONTROL_READY = 0x04;
export const CONTROL_FINISH = 0x05;
const FIELD_CONTENT_TYPE = 0x01;

export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
/** The spec caps control frames at 512 bytes; anything longer is not a Frame Streams writer. */
const MAX_CONTROL = 512;

export type FrameStreamErrorReason = 'oversized' | 'bad-control' | 'unexpected-control' | 'content-type' | 'data-before-start';

export class FrameStreamError extends Error {
  readonly reason: FrameStreamErrorReason;
  constructor(reason: FrameStreamErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface FrameStreamHandler {
  /** A bidirectional writer said READY and offered our content type: send accept(). */
  ready(): void;
  start(): void;
  data(frame: Uint8Array): void;
  /** The writer is done; a bidirectional one waits for finish(). */
  stop(): void;
}

type State = 'open' | 'started' | 'stopped';

/**
 * Feeds on a byte stream in chunks of any size; calls the handler per frame; throws a
 * FrameStreamError on anything a well-behaved writer never sends (the caller drops the peer).
 */
export class FrameStreamReader {
  readonly #h: FrameStreamHandler;
  readonly #maxFrame: number;
  readonly #contentType: string;
  #buf: Uint8Array = new Uint8Array(0);
  #state: State = 'open';
  /** Whether the writer began with READY (it then waits for ACCEPT and FINISH). */
  bidirectional = false;
  frames = 0;

  constructor(handler: FrameStreamHandler, opts: { maxFrame?: number; contentType?: string } = {}) {
    this.#h = handler;
    this.#maxFrame = opts.maxFrame ?? 131_072;
    this.#contentType = opts.contentType ?? DNSTAP_CONTENT_TYPE;
  }

  get stopped(): boolean {
    return this.#state === 'stopped';
  }

  push(chunk: Uint8Array): void {
    // Most chunks hold whole frames: parse in place and keep only the tail.
    let buf = chunk;
    if (this.#buf.length > 0) {
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf, 0);
      buf.set(chunk, this.#buf.length);
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (this.#state !== 'stopped' && buf.length - at >= 4) {
      const len = dv.getUint32(at);
      if (len !== 0) {
        if (len > this.#maxFrame)
          throw new FrameStreamError('oversized', `data frame of ${len} bytes is over the ${this.#maxFrame}-byte limit`);
        if (buf.length - at - 4 < len) break;
        if (this.#state !== 'started') throw new FrameStreamError('data-before-start', 'data frame before START');
        this.frames++;
        this.#h.data(buf.subarray(at + 4, at + 4 + len));
        at += 4 + len;
        continue;
      }
      if (buf.length - at < 8) break;
      const clen = dv.getUint32(at + 4);
      if (clen < 4 || clen > MAX_CONTROL) throw new FrameStreamError('bad-control', `control frame of ${clen} bytes`);
      if (buf.length - at - 8 < clen) break;
      this.#control(buf.subarray(at + 8, at + 8 + clen));
      at += 8 + clen;
    }
    this.#buf = at === buf.length ? new Uint8Array(0) : buf.slice(at);
  }

  #control(c: Uint8Array): void {
    const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
    const type = dv.getUint32(0);
    const types: string[] = [];
    for (let at = 4; at < c.length; ) {
      if (c.length - at < 8) throw new FrameStreamError('bad-control', 'truncated control field');
      const ft = dv.getUint32(at);
      const fl = dv.getUint32(at + 4);
      if (fl > c.length - at - 8) throw new FrameStreamError('bad-control', 'control field runs past its frame');
      if (ft === FIELD_CONTENT_TYPE) types.push(new TextDecoder().decode(c.subarray(at + 8, at + 8 + fl)));
      at += 8 + fl;
    }
    const offers = types.length === 0 || types.includes(this.#contentType);
    switch (type) {
      case CONTROL_READY:
        if (this.#state !== 'open' || this.bidirectional) throw new FrameStreamError('unexpected-control', 'READY after the handshake');
        if (!offers) throw new FrameStreamError('content-type', `writer offers ${types.join(', ')}, not ${this.#contentType}`);
        this.bidirectional = true;
        this.#h.ready();
        return;
      case CONTROL_START:
        if (this.#state !== 'open') throw new FrameStreamError('unexpected-control', 'START twice');
        if (!offers) throw new FrameStreamError('content-type', `stream of ${types.join(', ')}, not ${this.#contentType}`);
        this.#state = 'started';
        this.#h.start();
        return;
      case CONTROL_STOP:
        if (this.#state !== 'started') throw new FrameStreamError('unexpected-control', 'STOP before START');
        this.#state = 'stopped';
        this.#h.stop();
        return;
      default:
        throw new FrameStreamError('unexpected-control', `control type ${type} from a writer`);
    }
  }
}

/** A control frame, escape and length included. */
export function controlFrame(type: number, contentTypes: readonly string[] = []): Uint8Array {
  const fields = contentTypes.map((t) => new TextEncoder().encode(t));
  const clen = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = new Uint8Array(8 + clen);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0);
  dv.setUint32(4, clen);
  dv.setUint32(8, type);
  let at = 12;
  for (const f of fields) {
    dv.setUint32(at, FIELD_CONTENT_TYPE);
    dv.setUint32(at + 4, f.length);
    out.set(f, at + 8);
    at += 8 + f.length;
  }
  return out;
}

/** A data frame around `payload`. */
export function dataFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}
