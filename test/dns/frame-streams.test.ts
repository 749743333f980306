import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CONTROL_READY,
  CONTROL_START,
  CONTROL_STOP,
  DNSTAP_CONTENT_TYPE,
  FrameStreamError,
  FrameStreamReader,
  controlFrame,
  dataFrame,
} from '../../src/dns/frame-streams.ts';

function collect() {
  const events: string[] = [];
  const frames: Uint8Array[] = [];
  const reader = new FrameStreamReader(
    {
      ready: () => events.push('ready'),
      start: () => events.push('start'),
      data: (f) => {
        events.push('data');
        frames.push(f.slice());
      },
      stop: () => events.push('stop'),
    },
    { maxFrame: 1000 },
  );
  return { events, frames, reader };
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test('a bidirectional stream in one chunk: READY, START, frames, STOP', () => {
  const { events, frames, reader } = collect();
  reader.push(
    concat(
      controlFrame(CONTROL_READY, ['other', DNSTAP_CONTENT_TYPE]),
      controlFrame(CONTROL_START, [DNSTAP_CONTENT_TYPE]),
      dataFrame(Uint8Array.of(1, 2, 3)),
      dataFrame(Uint8Array.of(4)),
      controlFrame(CONTROL_STOP),
    ),
  );
  assert.deepEqual(events, ['ready', 'start', 'data', 'data', 'stop']);
  assert.ok(reader.bidirectional);
  assert.deepEqual(
    frames.map((f) => [...f]),
    [[1, 2, 3], [4]],
  );
});

test('the same stream cut at every byte gives the same frames (unidirectional: START first)', () => {
  const stream = concat(
    controlFrame(CONTROL_START),
    dataFrame(Uint8Array.of(9, 8, 7, 6, 5)),
    dataFrame(new Uint8Array(300).fill(7)),
    controlFrame(CONTROL_STOP),
  );
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
      const { events, frames, reader } = collect();
      const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), stream.length];
      for (let i = 1; i < at.length; i++) reader.push(stream.subarray(at[i - 1], at[i]));
      assert.deepEqual(events, ['start', 'data', 'data', 'stop']);
      assert.equal(frames[1].length, 300);
      assert.ok(!reader.bidirectional);
    }),
  );
});

test('misbehaving writers: each is a FrameStreamError with its reason', () => {
  const cases: [Uint8Array, string][] = [
    [dataFrame(Uint8Array.of(1)), 'data-before-start'],
    [Uint8Array.of(0, 0, 0x10, 0), 'oversized'],
    [concat(controlFrame(CONTROL_START), Uint8Array.of(0, 1, 0, 0)), 'oversized'],
    [Uint8Array.of(0, 0, 0, 0, 0, 0, 0x10, 0), 'bad-control'],
    [controlFrame(CONTROL_READY, ['protobuf:something.Else']), 'content-type'],
    [concat(controlFrame(CONTROL_START), controlFrame(CONTROL_START)), 'unexpected-control'],
    [controlFrame(CONTROL_STOP), 'unexpected-control'],
    [controlFrame(0x01), 'unexpected-control'],
    [Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 99), 'bad-control'],
  ];
  for (const [bytes, reason] of cases) {
    const { reader } = collect();
    assert.throws(
      () => reader.push(bytes),
      (e: unknown) => e instanceof FrameStreamError && e.reason === reason,
      reason,
    );
  }
});

test('fuzzed bytes never throw anything but FrameStreamError, and never hand out a frame over the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), (chunks, started) => {
      const { frames, reader } = collect();
      try {
        if (started) reader.push(controlFrame(CONTROL_START));
        for (const c of chunks) reader.push(c);
      } catch (e) {
        assert.ok(e instanceof FrameStreamError, String(e));
      }
      assert.ok(frames.every((f) => f.length <= 1000));
    }),
    { numRuns: 2000 },
  );
});
